#!/bin/sh
# seed-corpus.sh: (re)write the seed corpora of the object-model fuzz
# targets from the unit-test fixtures and the manifests. Run from the
# repository root after adding fixtures; commit what changes.
#   fuzz_api_objects/   kind byte + every tests/fixtures/api/*/*/input.json
#                       and manifests/*/*.json
#   fuzz_api_quantity/  quantities, valid and not
#   fuzz_api_selector/  selectors, a newline, a label set
#   fuzz_api_keys/      prefix byte + keys, valid and not
#   fuzz_manifest_yaml/ every tests/fixtures/fields/*/*/input.json (JSON is
#                       YAML) and manifests/*/*.json, plus a few YAML files
#                       written by hand (named yaml-*, kept)
# (fuzz_netcalc/, fuzz_etcd_resp/, fuzz_demux/, fuzz_xframe/ and
# fuzz_ctl_frames/ are written by hand.)
# Files named regress-* (inputs that once crashed a target) are kept.
set -eu
out=fuzz/corpus
[ -d tests/fixtures/api ] || { echo "seed-corpus.sh: run from the repository root" >&2; exit 2; }

# Kind byte of fuzz_api_objects: kinds[byte % 18] of fuzz_api_objects.c.
kind_byte() {
	case "$1" in
	pod|Pod) echo 0 ;;
	controller|ReplicationController) echo 1 ;;
	service|Service) echo 2 ;;
	node|Node) echo 3 ;;
	nodelease|NodeLease) echo 4 ;;
	binding|Binding) echo 5 ;;
	podstatus|PodStatus) echo 6 ;;
	controllerstatus|ControllerStatus) echo 7 ;;
	endpoints|Endpoints) echo 8 ;;
	serviceip|ServiceIP) echo 9 ;;
	networkconfig|NetworkConfig) echo 10 ;;
	subnet|Subnet) echo 11 ;;
	event|Event) echo 12 ;;
	configmap|ConfigMap) echo 13 ;;
	secret|Secret) echo 14 ;;
	deployment|Deployment) echo 15 ;;
	deploymentstatus|DeploymentStatus) echo 16 ;;
	proxystatus|ProxyStatus) echo 17 ;;
	*) echo "seed-corpus.sh: unknown kind $1" >&2; exit 1 ;;
	esac
}

# seed DIR NAME BYTE FILE: BYTE (octal escape) then FILE, compacted.
seed() {
	mkdir -p "$out/$1"
	{ printf "\\$(printf %03o "$3")"; tr -s ' \n' ' ' < "$4"; } > "$out/$1/$2"
}

# Reproducers of fixed crashes (regress-*) stay; everything else is rewritten.
for d in fuzz_api_objects fuzz_api_quantity fuzz_api_selector fuzz_api_keys fuzz_manifest_yaml; do
	[ -d "$out/$d" ] && find "$out/$d" -type f ! -name 'regress-*' ! -name 'yaml-*' -delete
done
for f in tests/fixtures/api/*/*/input.json; do
	case_dir=${f%/input.json}
	suite=${case_dir%/*}
	suite=${suite##*/}
	seed fuzz_api_objects "$suite-${case_dir##*/}" "$(kind_byte "$suite")" "$f"
done
for f in tests/fixtures/fields/configmap/*/input.json; do
	kind=$(sed -n 's/.*"kind": *"\([A-Za-z]*\)".*/\1/p' "$f" | head -n 1)
	case_dir=${f%/input.json}
	seed fuzz_api_objects "configmap-${case_dir##*/}" "$(kind_byte "$kind")" "$f"
done
for f in manifests/*/*.json; do
	kind=$(sed -n 's/.*"kind": *"\([A-Za-z]*\)".*/\1/p' "$f" | head -n 1)
	d=${f%/*}
	seed fuzz_api_objects "manifest-${d##*/}-$(basename "$f" .json)" "$(kind_byte "$kind")" "$f"
done

mkdir -p "$out/fuzz_manifest_yaml"
for f in tests/fixtures/fields/*/*/input.json manifests/*/*.json; do
	name=$(printf '%s' "${f%.json}" | tr '/' '-')
	cp "$f" "$out/fuzz_manifest_yaml/$name"
done

mkdir -p "$out/fuzz_api_quantity"
n=0
for q in 250m 2 1.5 0.1 .5 5. +1 -1 0 1e3 1E3 1e-3 1k 100u 1n 64Mi 0.5Gi 1.5Ki 1G 128974848 129e6 1E 9E 7Ei \
	8Ei 9223372036854775807 9223372036854775807m 123456789012345678901234567890e-20 1e1000 1K 1MiB 1e3Mi 0x10; do
	n=$((n + 1))
	printf '%s' "$q" > "$out/fuzz_api_quantity/q$n"
done

mkdir -p "$out/fuzz_api_selector"
n=0
while IFS= read -r line; do
	n=$((n + 1))
	printf '%s\n' "$line" | sed 's/ || /\n/' > "$out/fuzz_api_selector/s$n"
done <<'SEL'
{"app":"web"} || {"app":"web","tier":"fe"}
{} || {}
{"matchLabels":{"app":"web"}} || {"app":"db"}
{"matchExpressions":[{"key":"tier","operator":"In","values":["fe","be"]}]} || {"tier":"be"}
{"matchExpressions":[{"key":"env","operator":"NotIn","values":["dev"]}]} || {"env":"prod"}
{"matchExpressions":[{"key":"gpu","operator":"Exists"},{"key":"legacy","operator":"DoesNotExist"}]} || {"gpu":""}
{"matchLabels":{"a":"b"},"matchExpressions":[{"key":"x","operator":"Among","values":[1]}]} || []
{"app_":"x","ok":"-x"} || {"app":1}
SEL

mkdir -p "$out/fuzz_api_keys"
n=0
for k in pods/apache-x7k2p controllers/apache services/apache nodes/node-1.example.com nodeleases/m1 \
	bindings/m1/apache-x7k2p podstatus/m1/apache-x7k2p controllerstatus/apache endpoints/apache \
	serviceips/10.0.0.10 network/config network/subnets/m1 events/pods/apache-x7k2p/17a3b.FailedScheduling \
	events/nodes/m1/NodeNotReady leaders/scheduler/694d7a1b2c pods/.. pods/a/b bindings/M1/a serviceips/010.0.0.1; do
	n=$((n + 1))
	printf '\000/skiff/%s' "$k" > "$out/fuzz_api_keys/k$n"
done
printf '\001/a/b/pods/web' > "$out/fuzz_api_keys/k-other-prefix"
printf '\000/skiff/pods/a\000b' > "$out/fuzz_api_keys/k-nul"
echo "seed-corpus.sh: $(ls "$out/fuzz_api_objects" | wc -l) object seeds"
