#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Builds BUILD/cjson/libcjson.a from Debian's own source package of the installed
# libcjson-dev (same version, Debian's patches applied), fetched with `apt-get source` into
# BUILD/cjson-src. Debian ships cJSON only as a shared library; linked from this archive,
# sluice-host-local needs no shared library at all and is built as a static-pie executable,
# which execs in ~1.5 ms less on our test VM (every IPAM call in a chain pays that exec).
# Run by `make deps`; the Makefile links libcjson.so instead when the archive is absent, so
# a failure here (no deb-src reachable, no network) only prints a note.
#
#   tools/cjson.sh BUILD_DIR
set -eu

mkdir -p "$1"
build=$(cd "$1" && pwd)
out=$build/cjson
work=$build/cjson-src
[ -f "$out/libcjson.a" ] && exit 0

note() {
	echo "sluice: cJSON source package unavailable ($1): linking libcjson.so instead" >&2
	exit 0
}

ver=$(dpkg-query -W -f='${Version}' libcjson-dev 2>/dev/null) || note "libcjson-dev not installed"
command -v patch >/dev/null || note "no patch(1)"
rm -rf "$work"
mkdir -p "$work/lists/partial" "$work/cache/archives/partial" "$work/parts" "$work/src"

# deb-src entries for the deb entries the system already uses, in a private apt state so
# the system's own lists and sources stay untouched
if [ -f /etc/apt/sources.list ]; then
	sed -n 's/^[[:space:]]*deb[[:space:]]/deb-src /p' /etc/apt/sources.list >"$work/sources.list"
else
	: >"$work/sources.list"
fi
for f in /etc/apt/sources.list.d/*.list; do
	[ -f "$f" ] && sed -n 's/^[[:space:]]*deb[[:space:]]/deb-src /p' "$f" >>"$work/sources.list"
done
for f in /etc/apt/sources.list.d/*.sources; do
	[ -f "$f" ] && sed 's/^Types:.*/Types: deb-src/' "$f" >"$work/parts/${f##*/}"
done
apt() {
	apt-get -q -o Dir::Etc::SourceList="$work/sources.list" \
		-o Dir::Etc::SourceParts="$work/parts" -o Dir::State::Lists="$work/lists" \
		-o Dir::Cache="$work/cache" -o APT::Sandbox::User=root "$@"
}
# an unreachable third-party source must not stop the Debian one
apt update >"$work/log" 2>&1 || true
(cd "$work/src" && apt source --download-only "cjson=$ver") >>"$work/log" 2>&1 ||
	note "apt-get source cjson=$ver failed; see $work/log"

# apt-get checked the files against the signed Sources index; unpack them as dpkg-source
# would: the upstream tarball, then debian/, then the patches in series order
cd "$work/src"
mkdir tree
for t in cjson_*.orig.tar.*; do
	tar -xf "$t" -C tree --strip-components=1 || note "cannot unpack $t"
done
for t in cjson_*.debian.tar.*; do
	tar -xf "$t" -C tree || note "cannot unpack $t"
done
if [ -f tree/debian/patches/series ]; then
	grep -v '^[[:space:]]*\(#\|$\)' tree/debian/patches/series | while read -r p _; do
		patch -d tree -p1 -s -N <"tree/debian/patches/$p" || exit 1
	done || note "a Debian patch did not apply"
fi
mkdir -p "$out"
${CC:-cc} -O2 -g -fPIE -fstack-protector-strong -D_FORTIFY_SOURCE=2 -c -o "$out/cJSON.o" \
	tree/cJSON.c || note "cJSON.c did not compile"
ar rcs "$out/libcjson.a.tmp" "$out/cJSON.o" && mv "$out/libcjson.a.tmp" "$out/libcjson.a"
echo "sluice: built $out/libcjson.a from Debian's cjson $ver"
