#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# The etcd:// and etcds:// datastore against real etcd members (Debian's etcd 3.4) on this
# netns's loopback: the shared behavioural suite (tests/tools/storetest), a three-member
# cluster whose leader is killed under a watch, TLS with client certificates, endpoints in
# turn, a watch resuming across a member's restart and a watch from a compacted revision.
# Get, list and the watch go over gRPC: the suite runs again with ?api=json (the JSON
# gateway), through an HTTP/1.1-only proxy (the fallback to JSON), and a TCP relay shows
# which one a get and a watch used; a watch works against a member without its gateway,
# and one through a relay that refuses HTTP/2 falls back to the gateway's stream.
# Every etcd runs with its data under $T_TMP and is stopped by PID at exit.
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"

TOOLS=${TOOLS:-build/tests/tools}
ST=$TOOLS/storetest
ET=$TOOLS/etcdtest
for b in "$ST" "$ET"; do
	if [ ! -x "$b" ]; then
		fail "tools-built" "missing $b (make tools)"
		exit 0
	fi
done
if ! command -v etcd >/dev/null || ! command -v etcdctl >/dev/null; then
	fail "etcd-installed" "etcd and etcdctl are needed (apt-get install etcd-server etcd-client)"
	exit 0
fi
ip link set lo up

# members: lib.sh's etcd_up/etcd_down (data in $T_TMP/etcd-NAME, kept across a restart; log
# $T_TMP/etcd-NAME.log), each waited for here with etcd_healthy (ETCD_WAIT=0)
# etcd_start NAME CLIENT_URL PEER_PORT [ARGS...]
etcd_start() {
	local name=$1 curl=$2 pport=$3
	shift 3
	ETCD_WAIT=0 etcd_up "$name" "$curl" "http://127.0.0.1:$pport" "$@"
}
healthy() { etcd_healthy "$@"; }

# lines FILE N [PATTERN [SECONDS]]: waits up to SECONDS (20) until FILE has N lines matching
# PATTERN
# (a FILE a background command has not created yet counts as none)
lines() {
	local i n
	for ((i = 0; i < ${4:-20} * 5; i++)); do
		n=$(grep -c "${3:-.}" "$1" 2>/dev/null)
		[ "${n:-0}" -ge "$2" ] && return 0
		sleep 0.2
	done
	return 1
}

# suite TAG URL [CHECKS...]: the behavioural suite, its lines renamed store-TAG:*
suite() {
	local tag=$1 url=$2 rc
	shift 2
	"$ST" "$url" "$@" >"$T_TMP/suite.out" 2>"$T_TMP/suite.err"
	rc=$?
	sed "s/^\(PASS\|FAIL\) store-[a-z]*:/\1 store-$tag:/" "$T_TMP/suite.out"
	[ -s "$T_TMP/suite.err" ] && sed 's/^/  /' "$T_TMP/suite.err"
	check_eq "$tag-suite-exit" 0 "$rc"
}

# ---- a) one member: the suite ----
U1=http://127.0.0.1:2379
etcd_start s1 "$U1" 2380
if ! healthy "$U1"; then
	fail "single-up" "etcd did not answer" "$(tail -5 "$T_TMP/etcd-s1.log")"
	exit 0
fi
pass "single-up"
E1=etcd://127.0.0.1:2379
# range (get, list) goes over gRPC; api=json keeps it on the gateway, as after a fallback
suite etcd "$E1"
suite etcd-json "$E1?api=json"

# ---- a command resolves a member's host name ----
# With the static libcurl the commands are static-pie (README "Building"): glibc's own files
# and dns lookups resolve names, here one from an /etc/hosts bind-mounted in this test's
# private mount namespace (run.sh's unshare -m: the host never sees it, and it goes with the
# namespace if the test stops early). Not "localhost": libcurl resolves that name itself.
CTL=$BIN/sluicectl
printf '127.0.0.1 localhost\n127.0.0.1 etcd-a.sluice.test\n' >"$T_TMP/hosts"
if mount --bind "$T_TMP/hosts" /etc/hosts; then
	"$CTL" --store etcd://etcd-a.sluice.test:2379 store put /names/k v >/dev/null
	out=$("$CTL" --store etcd://etcd-a.sluice.test:2379 -o json store get /names/k)
	rc=$?
	check_eq "command-resolves-hosts-name" "v 0" "$(jq -r .value <<<"$out") $rc"
	out=$("$CTL" --store etcd://etcd-b.sluice.test:2379 store get /names/k 2>&1)
	check_eq "command-unknown-name" "1 sluicectl: etcd get: no endpoint answered (tried etcd-b.sluice.test:2379); last: etcd-b.sluice.test:2379: Could not resolve host: etcd-b.sluice.test" "$? $out"
	umount /etc/hosts
else
	fail "command-resolves-hosts-name" "cannot bind-mount a hosts file over /etc/hosts"
fi

# ---- which API a get used: a TCP relay notes each connection's first line ----
# (relay.py PORT TO LOG [h1only|silent|h2503]: with h1only, a connection that opens with
# HTTP/2's preface gets the answer of a server that speaks HTTP/1.1 only, and is closed; with
# silent, every connection is held open and never answered, as a stopped member does; with
# h2503, its first request gets an HTTP/2 503 text/html, as from a proxy whose etcd is down)
cat >"$T_TMP/relay.py" <<'PY'
import socket, struct, sys, threading
H1ONLY = sys.argv[4:] == ["h1only"]
SILENT = sys.argv[4:] == ["silent"]
H2503 = sys.argv[4:] == ["h2503"]
def frame(kind, flags, stream, payload=b""):
    return struct.pack(">I", len(payload))[1:] + struct.pack(">BBI", kind, flags, stream) + payload
def answer_503(c, d):
    # after the preface, frames up to the request's HEADERS (type 1); then SETTINGS, its
    # ack, and HEADERS(END_STREAM) of :status 503, content-type text/html (HPACK literals)
    d = d[24:]
    while True:
        while len(d) < 9 or len(d) < 9 + int.from_bytes(d[:3], "big"):
            more = c.recv(65536)
            if not more:
                return
            d += more
        n = int.from_bytes(d[:3], "big")
        if d[3] == 1:
            break
        d = d[9 + n:]
    block = b"\x08\x03503\x0f\x10\x09text/html"
    c.sendall(frame(4, 0, 0) + frame(4, 1, 0) + frame(1, 5, 1, block))
    while c.recv(65536):
        pass
def pipe(a, b):
    try:
        while True:
            d = a.recv(65536)
            if not d:
                break
            b.sendall(d)
        b.shutdown(socket.SHUT_WR)
    except OSError:  # the other side reset or closed: so does this one
        a.close()
        b.close()
def serve(c):
    d = c.recv(65536)
    with open(sys.argv[3], "a") as f:
        f.write(d.split(b"\r\n")[0].decode("latin-1") + "\n")
    if H1ONLY and d.startswith(b"PRI * HTTP/2.0"):
        c.sendall(b"HTTP/1.1 505 HTTP Version Not Supported\r\n"
                  b"Content-Length: 0\r\nConnection: close\r\n\r\n")
        c.close()
        return
    if H2503 and d.startswith(b"PRI * HTTP/2.0"):
        answer_503(c, d)
        c.close()
        return
    if SILENT:
        while c.recv(65536):
            pass
        c.close()
        return
    try:
        u = socket.create_connection(("127.0.0.1", int(sys.argv[2])))
    except OSError:  # the member is down: the connection is reset, as a killed one's is
        c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        c.close()
        return
    u.sendall(d)
    threading.Thread(target=pipe, args=(c, u), daemon=True).start()
    threading.Thread(target=pipe, args=(u, c), daemon=True).start()
ls = socket.create_server(("127.0.0.1", int(sys.argv[1])))
while True:
    c, _ = ls.accept()
    threading.Thread(target=serve, args=(c,), daemon=True).start()
PY
# relay_up VAR PORT TO LOG [MODE]: relay.py from PORT to the member on TO (MODE: h1only,
# silent, h2503), killed at the end; VAR gets its pid. Ready once it has logged a request
# (every mode logs the first line of one), then its log is emptied.
relay_up() {
	python3 "$T_TMP/relay.py" "$2" "$3" "$4" ${5:+"$5"} &
	printf -v "$1" %s $!
	defer "kill $!"
	for _ in $(seq 50); do
		[ -s "$4" ] && break
		curl -s -m 0.2 -o /dev/null "http://127.0.0.1:$2/health"
		sleep 0.1
	done
	: >"$4"
}
relay_up RELAY 2377 2379 "$T_TMP/relay.log"
"$ET" etcd://127.0.0.1:2377 get /relay/absent
check_eq "range-grpc-get-absent" 3 "$?"
check_eq "range-grpc-wire" "PRI * HTTP/2.0" "$(sort -u "$T_TMP/relay.log")"
: >"$T_TMP/relay.log"
"$ET" "etcd://127.0.0.1:2377?api=json" get /relay/absent
check_eq "range-json-get-absent" 3 "$?"
check_eq "range-json-wire" "POST /v3/kv/range HTTP/1.1" "$(sort -u "$T_TMP/relay.log")"
# the watch: gRPC's Watch.Watch on HTTP/2, or with api=json the gateway's /v3/watch
# relay_watch TAG URL: a watch through the relay sees one put; prints what the relay saw
relay_watch() {
	local rev r out
	rev=$("$ET" "$E1" rev)
	: >"$T_TMP/relay.log"
	"$ET" "$2" watch /relay/ $((rev + 1)) 20 >"$T_TMP/rw.out" 2>"$T_TMP/rw.err" &
	local pid=$!
	lines "$T_TMP/relay.log" 1
	r=$("$ET" "$E1" put "/relay/$1" "v-$1")
	lines "$T_TMP/rw.out" 1 '^PUT'
	kill "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	check_eq "watch-$1-event" "PUT /relay/$1 $r v-$1" "$(grep '^PUT' "$T_TMP/rw.out")"
	[ -s "$T_TMP/rw.err" ] && sed 's/^/  /' "$T_TMP/rw.err"
}
relay_watch grpc etcd://127.0.0.1:2377
check_eq "watch-grpc-wire" "PRI * HTTP/2.0" "$(sort -u "$T_TMP/relay.log")"
relay_watch json "etcd://127.0.0.1:2377?api=json"
check_eq "watch-json-wire" "POST /v3/watch HTTP/1.1" "$(sort -u "$T_TMP/relay.log")"
# ---- a member that takes the connection and never answers (stopped, replaying its WAL, cut
# off after the connect): the watch's probe drops the stream after 10+5 s and the watch moves
# to the next endpoint, still over gRPC (a stream it dropped itself says nothing about gRPC)
relay_up SILENT 2375 2379 "$T_TMP/silent.log" silent
: >"$T_TMP/relay.log"
rev=$("$ET" "$E1" rev)
"$ET" etcd://127.0.0.1:2375,127.0.0.1:2377 watch /silent/ $((rev + 1)) 60 \
	>"$T_TMP/silent.out" 2>"$T_TMP/silent.err" &
SWPID=$!
defer "kill $SWPID"
lines "$T_TMP/relay.log" 1 . 40 || fail "silent-watch-moves" "$(cat "$T_TMP/silent.log")"
r=$("$ET" "$E1" put /silent/k v-s)
lines "$T_TMP/silent.out" 1 '^PUT'
kill "$SWPID" 2>/dev/null
wait "$SWPID" 2>/dev/null
check_eq "silent-watch-event" "PUT /silent/k $r v-s" "$(grep '^PUT' "$T_TMP/silent.out")"
[ -s "$T_TMP/silent.err" ] && sed 's/^/  /' "$T_TMP/silent.err"
# the stream and its probe to the silent one, then the stream to the next: all gRPC
check_eq "silent-watch-grpc-wire" "PRI * HTTP/2.0|PRI * HTTP/2.0 + PRI * HTTP/2.0" \
	"$(paste -sd'|' "$T_TMP/silent.log") + $(sort -u "$T_TMP/relay.log")"
kill "$SILENT" 2>/dev/null
wait "$SILENT" 2>/dev/null
# ---- an HTTP/2 answer that is not gRPC but a 5xx (a proxy whose etcd is down) is a server
# error, not a refusal of gRPC: the get and the watch go on to the next endpoint over gRPC
relay_up H2503 2372 2379 "$T_TMP/h2503.log" h2503
: >"$T_TMP/relay.log"
"$ET" etcd://127.0.0.1:2372,127.0.0.1:2377 get /relay/absent
check_eq "h2-503-get-next-endpoint" 3 "$?"
rev=$("$ET" "$E1" rev)
"$ET" etcd://127.0.0.1:2372,127.0.0.1:2377 watch /h2503/ $((rev + 1)) 30 \
	>"$T_TMP/h2503.out" 2>"$T_TMP/h2503.err" &
HWPID=$!
defer "kill $HWPID"
lines "$T_TMP/relay.log" 2
r=$("$ET" "$E1" put /h2503/k v-h)
lines "$T_TMP/h2503.out" 1 '^PUT'
kill "$HWPID" 2>/dev/null
wait "$HWPID" 2>/dev/null
check_eq "h2-503-watch-event" "PUT /h2503/k $r v-h" "$(grep '^PUT' "$T_TMP/h2503.out")"
check_eq "h2-503-grpc-wire" "PRI * HTTP/2.0 + PRI * HTTP/2.0" \
	"$(sort -u "$T_TMP/h2503.log") + $(sort -u "$T_TMP/relay.log")"
kill "$H2503" 2>/dev/null
wait "$H2503" 2>/dev/null
kill "$RELAY" 2>/dev/null
wait "$RELAY" 2>/dev/null

# ---- an endpoint that refuses HTTP/2: the watch (a stream that never ends, which the
# HTTP/1.1 proxy below cannot relay) falls back to the gateway's stream ----
relay_up RELAY 2376 2379 "$T_TMP/relay.log" h1only
relay_watch h1only etcd://127.0.0.1:2376
check_eq "watch-h1only-wire" "PRI * HTTP/2.0|POST /v3/watch HTTP/1.1" \
	"$(uniq "$T_TMP/relay.log" | paste -sd'|')"
kill "$RELAY" 2>/dev/null
wait "$RELAY" 2>/dev/null

# ---- an HTTP/1.1-only proxy in front of the gateway: range falls back to JSON ----
# (python's http.server speaks HTTP/1.1 only; it relays each POST to the member)
cat >"$T_TMP/h1proxy.py" <<'PY'
import http.server, sys, urllib.error, urllib.request
NOPROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        req = urllib.request.Request(sys.argv[2] + self.path, data=body,
                                     headers={"Content-Type": "application/json"})
        try:
            with NOPROXY.open(req, timeout=10) as r:
                code, data = r.status, r.read()
        except urllib.error.HTTPError as e:
            code, data = e.code, e.read()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
    def log_message(self, *a):
        pass
http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
PY
python3 "$T_TMP/h1proxy.py" 2378 "$U1" &
PPID_H1=$!
defer "kill $PPID_H1"
for _ in $(seq 50); do
	curl -s -o /dev/null -X POST -d '{}' http://127.0.0.1:2378/v3/maintenance/status && break
	sleep 0.1
done
suite etcd-h1proxy "etcd://127.0.0.1:2378" get-absent put-get values list-prefix list-paging \
	create-if-absent delete errors
kill "$PPID_H1" 2>/dev/null
wait "$PPID_H1" 2>/dev/null

# ---- d) endpoints in turn ----
# port 1 is closed: the store goes on to the next endpoint
suite etcd-turn "etcd://127.0.0.1:1,127.0.0.1:2379" put-get create-if-absent watch-history
t0=$(date +%s%N)
out=$("$ET" "etcd://127.0.0.1:1,127.0.0.1:3" put /turn/s3cr3t-key s3cr3t-value 2>&1)
rc=$?
ms=$((($(date +%s%N) - t0) / 1000000))
check_eq "all-down-exit" 1 "$rc"
case $out in
*"no endpoint answered (tried 127.0.0.1:1, 127.0.0.1:3)"*) pass "all-down-names-endpoints" ;;
*) fail "all-down-names-endpoints" "$out" ;;
esac
if [[ $out != *s3cr3t* ]]; then pass "all-down-no-key"; else fail "all-down-no-key" "$out"; fi
if [ "$ms" -lt 4000 ]; then pass "all-down-fast"; else fail "all-down-fast" "took $ms ms"; fi

# ---- URL errors (unit tests cover the rest) ----
out=$("$ET" "etcds://127.0.0.1:2379" rev 2>&1)
check_eq "url-etcds-no-cacert" "etcdtest: open: store URL: etcds:// needs cacert=FILE (the CA that signed the members' certificates)" "$out"
out=$("$ET" "etcd://127.0.0.1:2379?cacert=/etc/hosts" rev 2>&1)
check_eq "url-etcd-query" "etcdtest: open: store URL: etcd:// takes only api=json|grpc (TLS is etcds://...?cacert=FILE&cert=FILE&key=FILE)" "$out"
out=$("$ET" "etcd://127.0.0.1:2379?api=xml" rev 2>&1)
check_eq "url-etcd-api" "etcdtest: open: store URL: api must be json or grpc" "$out"
out=$("$ET" "etcd://127.0.0.1:99999" rev 2>&1)
check_eq "url-bad-port" "etcdtest: open: store URL: an endpoint's port must be 1-65535" "$out"

# ---- a watched event larger than curl's reads: one message over many chunks ----
big=$(head -c 75000 /dev/urandom | base64 -w0)
rev=$("$ET" "$E1" rev)
"$ET" "$E1" watch /big/ $((rev + 1)) 30 >"$T_TMP/big.out" 2>&1 &
BPID=$!
defer "kill $BPID"
r=$("$ET" "$E1" put /big/k "$big")
lines "$T_TMP/big.out" 1 '^PUT'
kill "$BPID" 2>/dev/null
wait "$BPID" 2>/dev/null
check_eq "watch-large-event" "PUT /big/k $r $big" "$(grep '^PUT' "$T_TMP/big.out")"

# ---- every event of one revision (a prefix deleted, a lease revoked: one mod_rev for all)
# arrives, in order, once; across a reconnection too ----
ECTL=(etcdctl --endpoints="$U1")
rev=$("$ET" "$E1" rev)
"$ET" "$E1" watch /multi/ $((rev + 1)) 90 >"$T_TMP/multi.out" 2>"$T_TMP/multi.err" &
MPID=$!
defer "kill $MPID"
want=""
for k in a b c; do
	want+="PUT /multi/$k $("$ET" "$E1" put /multi/$k v-$k) v-$k"$'\n'
done
"${ECTL[@]}" del --prefix /multi/ >/dev/null
r=$("$ET" "$E1" rev)
for k in a b c; do want+="DELETE /multi/$k $r"$'\n'; done
lease=$("${ECTL[@]}" lease grant 600 | awk '{print $2}')
for k in x y z; do
	r=$("${ECTL[@]}" put --lease="$lease" /multi/$k v-$k -w json | jq -r .header.revision)
	want+="PUT /multi/$k $r v-$k"$'\n'
done
"${ECTL[@]}" lease revoke "$lease" >/dev/null
r=$("$ET" "$E1" rev)
for k in x y z; do want+="DELETE /multi/$k $r"$'\n'; done
lines "$T_TMP/multi.out" 12 '^[PD]'
etcd_down s1
etcd_start s1 "$U1" 2380
healthy "$U1" || fail "multi-restarted" "$(tail -5 "$T_TMP/etcd-s1.log")"
for k in p q; do
	want+="PUT /multi/$k $("$ET" "$E1" put /multi/$k v-$k) v-$k"$'\n'
done
"${ECTL[@]}" del --prefix /multi/ >/dev/null
r=$("$ET" "$E1" rev)
for k in p q; do want+="DELETE /multi/$k $r"$'\n'; done
lines "$T_TMP/multi.out" 16 '^[PD]'
kill "$MPID" 2>/dev/null
wait "$MPID" 2>/dev/null
check_eq "watch-one-revision-every-event" "$want" "$(grep '^[PD]' "$T_TMP/multi.out")"$'\n'
# the same history read back in one catch-up response
"$ET" "$E1" watch /multi/ $((rev + 1)) 90 >"$T_TMP/multi2.out" 2>"$T_TMP/multi2.err" &
MPID=$!
defer "kill $MPID"
lines "$T_TMP/multi2.out" 16 '^[PD]'
kill "$MPID" 2>/dev/null
wait "$MPID" 2>/dev/null
check_eq "watch-history-one-revision-every-event" "$want" "$(grep '^[PD]' "$T_TMP/multi2.out")"$'\n'

# ---- a watcher that fell behind: etcd sends up to 1000 revisions in one response (800
# values of 12 KB: 12.8 MB of JSON, more than the watch reads as one message), which it
# splits into fragments when asked ----
rev=$("$ET" "$E1" rev)
"$ET" "$E1" fill /catchup/ 800 12000 >/dev/null
"$ET" "$E1" watch /catchup/ $((rev + 1)) 90 >"$T_TMP/catchup.out" 2>"$T_TMP/catchup.err" &
CUPID=$!
defer "kill $CUPID"
lines "$T_TMP/catchup.out" 800 '^PUT' 60
kill "$CUPID" 2>/dev/null
wait "$CUPID" 2>/dev/null
# "<events> <their checksum>" (a failure would print 800 lines of 12 KB)
want=$(for ((i = 0; i < 800; i++)); do printf "PUT /catchup/%05d %d 12000\n" $i $((rev + 1 + i)); done |
	md5sum)
got=$(awk '/^PUT/ {print $1, $2, $3, length($4)}' "$T_TMP/catchup.out" | md5sum)
check_eq "watch-catch-up-fragments" "800 $want" "$(grep -c '^PUT' "$T_TMP/catchup.out") $got"
[ -s "$T_TMP/catchup.err" ] && sed 's/^/  /' "$T_TMP/catchup.err"

# ---- another client's value larger than sluice writes (etcd takes 1.5 MiB) ----
head -c 825000 /dev/urandom | base64 -w0 >"$T_TMP/foreign.val"
rev=$("$ET" "$E1" rev)
"$ET" "$E1" watch /foreign/ $((rev + 1)) 60 >"$T_TMP/foreign.out" 2>"$T_TMP/foreign.err" &
FPID=$!
defer "kill $FPID"
"${ECTL[@]}" put /foreign/big <"$T_TMP/foreign.val" >/dev/null
lines "$T_TMP/foreign.out" 1 '^PUT'
kill "$FPID" 2>/dev/null
wait "$FPID" 2>/dev/null
check_eq "watch-foreign-large-value" "PUT /foreign/big $((rev + 1)) $(md5sum <"$T_TMP/foreign.val")" \
	"$(grep '^PUT' "$T_TMP/foreign.out" | cut -d' ' -f1-3) $(grep '^PUT' "$T_TMP/foreign.out" |
		cut -d' ' -f4 | tr -d '\n' | md5sum)"
check_eq "list-foreign-large-value" "/foreign/big $((rev + 1)) 1100000" \
	"$("$ET" "$E1" list /foreign/ 2>&1)"

# ---- a key sluice cannot represent (a NUL in it): an error, not a watch stalled forever
# (the message names no key) ----
rev=$("$ET" "$E1" rev)
k=$(printf '/bad/s3cr3t\000x' | base64 -w0)
curl -s -X POST -d "{\"key\":\"$k\",\"value\":\"eA==\"}" "$U1/v3/kv/put" >/dev/null
out=$(timeout 30 "$ET" "$E1" watch /bad/ $((rev + 1)) 20 2>&1)
rc=$?
check_eq "watch-unreadable-error" "etcdtest: watch: etcd watch: 127.0.0.1:2379: cannot read the events after revision $rev, even from a new stream: a malformed event (another client's key of more than 1024 bytes or holding a NUL, or value of more than 2097152 bytes?) 1" "$out $rc"
out=$("$ET" "$E1" list /bad/ 2>&1)
check_eq "list-unreadable-error" "etcdtest: list: etcd list: a malformed answer 1" "$out $?"

# ---- e) a watch resumes across a restart; a compacted revision is -ESTALE ----
# A watch and a get every 200 ms (one store) through relays as well: while the member is
# down, the relays take each connection and reset it, as a member being killed does; that
# proves no refusal of gRPC (its JSON call fails too): once the member is back, the watch
# and the gets speak gRPC again, not the gateway's JSON for good.
relay_up RELAY_W 2374 2379 "$T_TMP/rw.log"
relay_up RELAY_G 2373 2379 "$T_TMP/rg.log"
rev=$("$ET" "$E1" rev)
"$ET" "$E1" watch /resume/ $((rev + 1)) 60 >"$T_TMP/resume.out" 2>"$T_TMP/resume.err" &
WPID=$!
defer "kill $WPID"
"$ET" etcd://127.0.0.1:2374 watch /resume/ $((rev + 1)) 60 >"$T_TMP/rw.out" 2>"$T_TMP/rw.err" &
RWPID=$!
defer "kill $RWPID"
"$ET" etcd://127.0.0.1:2373 poll /resume/a1 60 >"$T_TMP/rg.out" 2>"$T_TMP/rg.err" &
RGPID=$!
defer "kill $RGPID"
lines "$T_TMP/rw.log" 1
want=""
for k in a1 a2; do
	want+="PUT /resume/$k $("$ET" "$E1" put /resume/$k v-$k) v-$k"$'\n'
done
lines "$T_TMP/resume.out" 2 '^PUT' || fail "resume-before" "$(cat "$T_TMP/resume.out")"
etcd_down s1
# down until a get failed and the relayed watch tried to connect again twice
lines "$T_TMP/rg.out" 1 '^ERR' || fail "restart-get-failed" "$(tail -3 "$T_TMP/rg.out")"
lines "$T_TMP/rw.log" 3 || fail "restart-watch-retried" "$(cat "$T_TMP/rw.log")"
etcd_start s1 "$U1" 2380
healthy "$U1" || fail "resume-restarted" "$(tail -5 "$T_TMP/etcd-s1.log")"
for k in a3 a4 a5; do
	want+="PUT /resume/$k $("$ET" "$E1" put /resume/$k v-$k) v-$k"$'\n'
done
lines "$T_TMP/resume.out" 5 '^PUT'
kill "$WPID" 2>/dev/null
wait "$WPID" 2>/dev/null
check_eq "resume-every-event-once" "$want" "$(grep '^PUT' "$T_TMP/resume.out")"$'\n'
lines "$T_TMP/rw.out" 5 '^PUT'
kill "$RWPID" 2>/dev/null
wait "$RWPID" 2>/dev/null
check_eq "restart-relay-watch-every-event-once" "$want" "$(grep '^PUT' "$T_TMP/rw.out")"$'\n'
[ -s "$T_TMP/rw.err" ] && sed 's/^/  /' "$T_TMP/rw.err"
# the streams while the member was down: some tried over JSON (doubtful), none stayed there
echo "  (the relayed watch's connections: $(uniq -c "$T_TMP/rw.log" | paste -sd' ' | tr -s ' '))"
check_eq "restart-watch-back-on-grpc" "PRI * HTTP/2.0" "$(tail -1 "$T_TMP/rw.log")"
# the gets: a few more, all over gRPC
: >"$T_TMP/rg.log"
lines "$T_TMP/rg.log" 3
kill "$RGPID" 2>/dev/null
wait "$RGPID" 2>/dev/null
check_eq "restart-gets-back-on-grpc" "PRI * HTTP/2.0 OK" \
	"$(sort -u "$T_TMP/rg.log" | paste -sd'|') $(tail -1 "$T_TMP/rg.out" | cut -d' ' -f1)"
kill "$RELAY_W" "$RELAY_G" 2>/dev/null
wait "$RELAY_W" "$RELAY_G" 2>/dev/null
rev=$("$ET" "$E1" rev)
check "resume-compact" "$ET" "$E1" compact "$rev"
out=$(timeout 20 "$ET" "$E1" watch /resume/ 2 5 2>&1)
rc=$?
check_eq "watch-compacted-stale" "STALE 3" "$out $rc"
etcd_down s1

# ---- a member without its JSON gateway (--enable-grpc-gateway=false): a watch from now
# (its revision from a gRPC range), its events, and its quorum probe after 10 s of silence
# need gRPC alone; a relay counts the connections: the range, the stream and one probe,
# all HTTP/2 (a probe that failed would drop the stream and open another) ----
UG=http://127.0.0.1:2679
etcd_start g1 "$UG" 2680 --enable-grpc-gateway=false
if healthy "$UG"; then
	check_eq "nogw-gateway-off" 404 \
		"$(curl -s -o /dev/null -w '%{http_code}' -X POST -d '{}' "$UG/v3/kv/range")"
	relay_up RELAY 2677 2679 "$T_TMP/nogw-relay.log"
	GCTL=(etcdctl --endpoints=127.0.0.1:2679)
	"$ET" etcd://127.0.0.1:2677 watch /nogw/ 0 40 >"$T_TMP/nogw.out" 2>"$T_TMP/nogw.err" &
	NPID=$!
	defer "kill $NPID"
	lines "$T_TMP/nogw-relay.log" 2
	want="PUT /nogw/a $("${GCTL[@]}" put /nogw/a v-a -w json | jq -r .header.revision) v-a"$'\n'
	lines "$T_TMP/nogw.out" 1 '^PUT'
	# the probe, 10 s after the last message
	lines "$T_TMP/nogw-relay.log" 3 . 25 || fail "nogw-probe-ran" "$(cat "$T_TMP/nogw-relay.log")"
	want+="PUT /nogw/b $("${GCTL[@]}" put /nogw/b v-b -w json | jq -r .header.revision) v-b"$'\n'
	want+="DELETE /nogw/a $("${GCTL[@]}" del /nogw/a -w json | jq -r .header.revision)"$'\n'
	lines "$T_TMP/nogw.out" 3 '^[PD]'
	kill "$NPID" 2>/dev/null
	wait "$NPID" 2>/dev/null
	check_eq "nogw-watch-events" "$want" "$(grep '^[PD]' "$T_TMP/nogw.out")"$'\n'
	[ -s "$T_TMP/nogw.err" ] && sed 's/^/  /' "$T_TMP/nogw.err"
	check_eq "nogw-watch-wire" "PRI * HTTP/2.0|PRI * HTTP/2.0|PRI * HTTP/2.0" \
		"$(paste -sd'|' "$T_TMP/nogw-relay.log")"
	# etcd's own count: one Watch stream, never opened again (a probe that failed would
	# drop it), and the probe a gRPC range of its own
	started=$(curl -s "$UG/metrics" | awk '/^grpc_server_started_total.*grpc_method="(Watch|Range)",grpc_service="etcdserverpb[.](Watch|KV)"/ {
		sub(/.*grpc_method="/, "", $1); sub(/".*/, "", $1); print $1 "=" $2 }' | sort | paste -sd' ')
	check_eq "nogw-watch-one-stream-probe" "Range=2 Watch=1" "$started"
	kill "$RELAY" 2>/dev/null
	wait "$RELAY" 2>/dev/null
else
	fail "nogw-up" "$(tail -5 "$T_TMP/etcd-g1.log")"
fi
etcd_down g1

# ---- c) TLS with client certificates ----
PKI=$T_TMP/pki
mkdir -p "$PKI"
(
	cd "$PKI" || exit 1
	ec() { openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes "$@"; }
	ec -x509 -keyout ca.key -out ca.crt -days 1 -subj /CN=sluice-test-ca
	ec -x509 -keyout other-ca.key -out other-ca.crt -days 1 -subj /CN=other-ca
	ec -keyout server.key -out server.csr -subj /CN=etcd
	# clientAuth too: with --client-cert-auth, etcd's gateway dials its own gRPC server
	# with the server certificate (without it every gateway request is a 503)
	printf 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth,clientAuth\n' >server.ext
	openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 1 \
		-extfile server.ext -out server.crt
	ec -keyout client.key -out client.csr -subj /CN=sluice
	printf 'extendedKeyUsage=clientAuth\n' >client.ext
	openssl x509 -req -in client.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 1 \
		-extfile client.ext -out client.crt
) >"$T_TMP/pki.log" 2>&1 || fail "tls-pki" "$(cat "$T_TMP/pki.log")"
UT=https://127.0.0.1:2479
etcd_start t1 "$UT" 2480 --cert-file "$PKI/server.crt" \
	--key-file "$PKI/server.key" --client-cert-auth --trusted-ca-file "$PKI/ca.crt"
if healthy "$UT" --cacert "$PKI/ca.crt" --cert "$PKI/client.crt" --key "$PKI/client.key"; then
	pass "tls-up"
	ET1="etcds://127.0.0.1:2479?cacert=$PKI/ca.crt&cert=$PKI/client.crt&key=$PKI/client.key"
	suite etcds "$ET1"
	suite etcds-json "$ET1&api=json"
	# no client certificate: the member refuses the handshake (a read: a write that may
	# have reached the member says so instead, depending on when TLS 1.3's alert comes)
	out=$("$ET" "etcds://127.0.0.1:2479?cacert=$PKI/ca.crt" get /tls/s3cr3t-key 2>&1)
	rc=$?
	check_eq "tls-no-client-cert-exit" 1 "$rc"
	case $out in
	"etcdtest: get: etcd get: no endpoint answered (tried 127.0.0.1:2479); last: 127.0.0.1:2479: "*"(no client certificate was offered: a member run with --client-cert-auth needs cert=FILE&key=FILE)") pass "tls-no-client-cert-error" ;;
	*) fail "tls-no-client-cert-error" "$out" ;;
	esac
	if [[ $out != *s3cr3t* && $out != *PRIVATE* ]]; then pass "tls-no-client-cert-no-key"; else fail "tls-no-client-cert-no-key" "$out"; fi
	# a CA that did not sign the member's certificate
	out=$("$ET" "etcds://127.0.0.1:2479?cacert=$PKI/other-ca.crt&cert=$PKI/client.crt&key=$PKI/client.key" \
		put /tls/s3cr3t-key s3cr3t-value 2>&1)
	rc=$?
	check_eq "tls-wrong-ca-exit" 1 "$rc"
	case $out in
	*"no endpoint answered (tried 127.0.0.1:2479); last: 127.0.0.1:2479: SSL certificate problem"*) pass "tls-wrong-ca-error" ;;
	*) fail "tls-wrong-ca-error" "$out" ;;
	esac
	if [[ $out != *s3cr3t* && $out != *PRIVATE* ]]; then pass "tls-wrong-ca-no-key"; else fail "tls-wrong-ca-no-key" "$out"; fi
	# plain HTTP to a TLS member
	out=$("$ET" "etcd://127.0.0.1:2479" rev 2>&1)
	check_eq "tls-plain-to-tls-exit" 1 "$?"
else
	fail "tls-up" "$(tail -5 "$T_TMP/etcd-t1.log")"
fi
etcd_down t1

# ---- b) three members: the leader stopped, then killed, under a watch ----
CL="m1=http://127.0.0.1:2580,m2=http://127.0.0.1:2590,m3=http://127.0.0.1:2600"
MEMBERS=(127.0.0.1:2579 127.0.0.1:2589 127.0.0.1:2599)
declare -A NAME_OF=([127.0.0.1:2579]=m1 [127.0.0.1:2589]=m2 [127.0.0.1:2599]=m3)
etcd_start m1 http://127.0.0.1:2579 2580 --initial-cluster "$CL"
etcd_start m2 http://127.0.0.1:2589 2590 --initial-cluster "$CL"
etcd_start m3 http://127.0.0.1:2599 2600 --initial-cluster "$CL"
up=0
for ep in "${MEMBERS[@]}"; do healthy "http://$ep" && up=$((up + 1)); done
check_eq "cluster-up" 3 "$up"

# the leader as a member sees it: "<member id> <leader id>" (the gateway's JSON keeps the
# 64-bit IDs as strings; etcdctl's JSON has them as numbers that jq rounds)
leader_of() {
	curl -s --max-time 2 -X POST -d '{}' "http://$1/v3/maintenance/status" |
		jq -r 'if .leader then "\(.header.member_id) \(.leader)" else "none" end'
}

# leader_among EP...: waits up to 20 s until every EP names the same leader, one of them;
# sets LEADER (endpoint) and LEADER_ID
leader_among() {
	local i ep id lid ids
	for ((i = 0; i < 100; i++)); do
		LEADER="" LEADER_ID="" ids=""
		for ep in "$@"; do
			read -r id lid <<<"$(leader_of "$ep")"
			ids+="$lid "
			[ -n "$lid" ] && [ "$id" = "$lid" ] && LEADER=$ep LEADER_ID=$lid
		done
		[ -n "$LEADER" ] && [ "$ids" = "$(printf "$LEADER_ID %.0s" "$@")" ] && return 0
		sleep 0.2
	done
	return 1
}

# put_all URL PREFIX N...: puts PREFIX/kN = vN for each N, appending the events a watch must
# print to $want; fails the check CHECK at the first error
put_all() {
	local url=$1 prefix=$2 check=$3 i r
	shift 3
	for i in "$@"; do
		if ! r=$("$ET" "$url" put "$prefix/k$i" "v$i" 2>"$T_TMP/put.err"); then
			fail "$check" "$(cat "$T_TMP/put.err")"
			return 1
		fi
		want+="PUT $prefix/k$i $r v$i"$'\n'
	done
	pass "$check"
}

# others EP: the other members' endpoints, comma-separated
others() {
	local ep out=""
	for ep in "${MEMBERS[@]}"; do [ "$ep" = "$1" ] || out+=${out:+,}$ep; done
	echo "$out"
}

# A stopped leader keeps its connections open and says nothing: the watch (leader first)
# must notice by its probe that the member cannot serve, and go on to another.
if leader_among "${MEMBERS[@]}"; then
	pass "cluster-leader"
	stopped=$LEADER
	rev=$("$ET" "etcd://$(others "$stopped")" rev)
	"$ET" "etcd://$stopped,$(others "$stopped")" watch /st/ $((rev + 1)) 60 \
		>"$T_TMP/st.out" 2>"$T_TMP/st.err" &
	SPID=$!
	defer "kill $SPID"
	want=""
	put_all "etcd://$stopped,$(others "$stopped")" /st cluster-put-before-stop 1 2
	lines "$T_TMP/st.out" 2 '^PUT' || fail "cluster-watch-before-stop" "$(cat "$T_TMP/st.out")"
	kill -STOP "${ETCD_PID[${NAME_OF[$stopped]}]}"
	defer "kill -CONT ${ETCD_PID[${NAME_OF[$stopped]}]}"
	# the writer does not list the stopped member: a write it accepted would hang
	IFS=, read -ra rest <<<"$(others "$stopped")"
	leader_among "${rest[@]}" || fail "cluster-stop-new-leader" "no new leader"
	put_all "etcd://$(others "$stopped")" /st cluster-put-after-stop 3 4 5
	t0=$(date +%s)
	# silent for 10 s, then a probe that times out after 5 s, then the backoff
	lines "$T_TMP/st.out" 5 '^PUT' 40
	kill "$SPID" 2>/dev/null
	wait "$SPID" 2>/dev/null
	check_eq "cluster-stopped-leader-watch-moves" "$want" "$(grep '^PUT' "$T_TMP/st.out")"$'\n'
	echo "  (the watch moved off the stopped member within $(($(date +%s) - t0)) s of the writes)"
	kill -CONT "${ETCD_PID[${NAME_OF[$stopped]}]}"
	leader_among "${MEMBERS[@]}" || fail "cluster-rejoined" "the stopped member did not rejoin"
else
	fail "cluster-leader" "no member says it is the leader"
fi

# The leader killed under a watch: the watch and the writes go on through the others.
if leader_among "${MEMBERS[@]}"; then
	killed=$LEADER
	EC="etcd://$killed,$(others "$killed")"
	rev=$("$ET" "$EC" rev)
	"$ET" "$EC" watch /cl/ $((rev + 1)) 60 >"$T_TMP/cl.out" 2>"$T_TMP/cl.err" &
	CPID=$!
	defer "kill $CPID"
	want=""
	put_all "$EC" /cl cluster-put-before-kill 1 2 3
	lines "$T_TMP/cl.out" 3 '^PUT' || fail "cluster-watch-before-kill" "$(cat "$T_TMP/cl.out")"
	etcd_down "${NAME_OF[$killed]}" KILL
	# A write sent while the survivors elect a leader can hang until etcd's own timeout
	# (7 s) and then not say whether it was applied: the writes start once they have one.
	IFS=, read -ra rest <<<"$(others "$killed")"
	leader_among "${rest[@]}" || fail "cluster-kill-new-leader" "no new leader"
	put_all "$EC" /cl cluster-put-after-kill 4 5 6 7 8
	out=$("$ET" "$EC" get /cl/k8 2>&1)
	check_eq "cluster-get-after-kill" "$(tail -1 <<<"${want%$'\n'}" | cut -d' ' -f3) v8" "$out"
	lines "$T_TMP/cl.out" 8 '^PUT'
	kill "$CPID" 2>/dev/null
	wait "$CPID" 2>/dev/null
	check_eq "cluster-watch-every-event-once" "$want" "$(grep '^PUT' "$T_TMP/cl.out")"$'\n'
else
	fail "cluster-leader-again" "no member says it is the leader"
fi
for m in m1 m2 m3; do etcd_down $m; done
exit 0
