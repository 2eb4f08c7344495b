#!/bin/sh
# guestbook: Kubernetes' v1.0 guestbook frontend (its index.php) as a
# busybox httpd CGI. ?cmd=set&key=K&value=V writes K through the master
# (redis-cli -h redis-master SET) and answers {"message": "Updated"};
# ?cmd=get&key=K reads K through the slaves (redis-cli -h redis-slave GET)
# and answers {"data": "V"}. The hosts are service names found through
# cluster DNS; GET_HOSTS_FROM=env takes REDIS_MASTER_SERVICE_HOST and
# REDIS_SLAVE_SERVICE_HOST instead (as the later examples do). A redis
# error answers 500 with {"error": "..."} (the PHP would have thrown).
PATH=/usr/bin:/bin

# arg NAME: the URL-decoded value of NAME in QUERY_STRING ("" if absent).
arg() {
	v=$(printf '%s\n' "${QUERY_STRING:-}" | tr '&' '\n' | sed -n "s/^$1=//p" | head -n 1)
	httpd -d "$v"
}

# json S: S with backslashes and double quotes escaped, on one line.
json() {
	printf '%s' "$1" | sed 's/\\/\\\\/g; s/"/\\"/g' | tr '\r\n' '  '
}

# answer CODE REASON BODY: a whole HTTP answer (busybox httpd passes one
# that starts with its status line through as it is).
answer() {
	printf 'HTTP/1.0 %s %s\r\nContent-Type: application/json\r\n\r\n%s\n' "$1" "$2" "$3"
}

master=redis-master slave=redis-slave
if [ "${GET_HOSTS_FROM:-dns}" = env ]; then
	master=${REDIS_MASTER_SERVICE_HOST:-redis-master}
	slave=${REDIS_SLAVE_SERVICE_HOST:-redis-slave}
fi
key=$(arg key)
case $(arg cmd) in
set)
	out=$(redis-cli -h "$master" SET "$key" "$(arg value)" 2>&1)
	if [ "$out" = OK ]; then
		answer 200 OK '{"message": "Updated"}'
	else
		answer 500 "Internal Server Error" "{\"error\": \"$(json "$out")\"}"
	fi
	;;
get)
	if out=$(redis-cli -h "$slave" GET "$key" 2>&1) && [ "${out#ERR}" = "$out" ] &&
		[ "${out#Could not connect}" = "$out" ]; then
		answer 200 OK "{\"data\": \"$(json "$out")\"}"
	else
		answer 500 "Internal Server Error" "{\"error\": \"$(json "$out")\"}"
	fi
	;;
*) answer 400 "Bad Request" '{"error": "cmd must be set or get"}' ;;
esac
