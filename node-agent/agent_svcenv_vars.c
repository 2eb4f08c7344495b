/*
 * agent_svcenv_vars.c: one service's environment variables, as the
 * kubelet makes them (pkg/kubelet/envvars: FromServices and
 * makeLinkVariables). Pure; it does not decide which services count
 * (agent_svcenv.c does).
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "agent_svcenv.h"

/* Kubernetes' makeEnvVariableName: upper case, '-' as '_'. */
static void
env_name(const char *s, char *out, size_t len)
{
	size_t i;

	for (i = 0; s[i] && i + 1 < len; i++)
		out[i] = s[i] == '-' ? '_' : (char)toupper((unsigned char)s[i]);
	out[i] = '\0';
}

void
svcenv_vars(const char *name, const char *ip, const struct api_service_port *ports, size_t n, svcenv_set_fn set,
            void *arg)
{
	char pre[300], pn[128], k[600], v[128];
	size_t i;

	if (!n)
		return;
	env_name(name, pre, sizeof(pre));
	snprintf(k, sizeof(k), "%s_SERVICE_HOST", pre);
	set(arg, k, ip);
	snprintf(k, sizeof(k), "%s_SERVICE_PORT", pre);
	snprintf(v, sizeof(v), "%d", ports[0].port);
	set(arg, k, v);
	for (i = 0; i < n; i++) {
		if (!ports[i].name || !*ports[i].name)
			continue;
		env_name(ports[i].name, pn, sizeof(pn));
		snprintf(k, sizeof(k), "%s_SERVICE_PORT_%s", pre, pn);
		snprintf(v, sizeof(v), "%d", ports[i].port);
		set(arg, k, v);
	}
	for (i = 0; i < n; i++) {
		const char *lp = ports[i].protocol == API_PROTO_UDP ? "udp" : "tcp";
		const char *up = ports[i].protocol == API_PROTO_UDP ? "UDP" : "TCP";
		char base[400];

		snprintf(v, sizeof(v), "%s://%s:%d", lp, ip, ports[i].port);
		if (i == 0) {
			snprintf(k, sizeof(k), "%s_PORT", pre);
			set(arg, k, v);
		}
		snprintf(base, sizeof(base), "%s_PORT_%d_%s", pre, ports[i].port, up);
		set(arg, base, v);
		snprintf(k, sizeof(k), "%s_PROTO", base);
		set(arg, k, lp);
		snprintf(k, sizeof(k), "%s_PORT", base);
		snprintf(v, sizeof(v), "%d", ports[i].port);
		set(arg, k, v);
		snprintf(k, sizeof(k), "%s_ADDR", base);
		set(arg, k, ip);
	}
}
