#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Puts the static archives of cJSON and libmnl in BUILD/static, so that the plugins can be
# linked static-pie and load no shared library at all: on our test VM that takes ~1 ms off
# each plugin's exec (a chained ADD pays one exec per plugin, IPAM included) and halves its
# peak RSS (most of a dynamic plugin's resident pages are libc's text, mapped whole by the
# loader's fault-around). Debian 12 ships neither archive (libnftnl.a it does ship):
#  - cJSON: built from Debian's own source package of the installed libcjson-dev (same
#    version, Debian's patches applied), fetched with `apt-get source`;
#  - libmnl: its source package is not on every mirror (ours answers 404), so the archive is
#    taken from the libmnl-dev binary package of the next Debian release (trixie, 1.0.5),
#    which ships libmnl.a; same soname and ABI as bookworm's 1.0.4, and it calls only libc
#    functions bookworm's glibc has. A trial program is linked static-pie against it and run
#    before it is used. A system that has libmnl.a already (Debian 13) uses its own.
# Both are fetched through a private apt state (the system's sources and lists untouched),
# so apt checks every file against the signed Release/Sources indices with the system's
# keyring. Run by `make deps`. Whatever cannot be had only prints a note: the Makefile links
# the shared library instead (everything still works, the plugins are just dynamic).
#
#   tools/archives.sh BUILD_DIR
set -eu

mkdir -p "$1"
build=$(cd "$1" && pwd)
out=$build/static
work=$build/static-src
[ -f "$out/libcjson.a" ] && [ -f "$out/libmnl.a" ] && exit 0

note() {
	echo "sluice: $1: linking the shared library instead" >&2
}

rm -rf "$work"
mkdir -p "$out" "$work/lists/partial" "$work/cache/archives/partial" "$work/parts" \
	"$work/cjson" "$work/mnl"

# deb-src entries for the deb entries the system already uses, and the next release's deb
# entry for libmnl, in a private apt state
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
# the mirror the system takes Debian's main archive from (one-line or deb822 sources)
mirror=$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources \
	2>/dev/null | sed -n 's,^[[:space:]]*\(deb[[:space:]]\+\(\[[^]]*\][[:space:]]*\)\?\|URIs:[[:space:]]*\)\([a-z+]*://[^[:space:]]*/debian\)/\?\([[:space:]].*\)\?$,\3,p' |
	head -n 1)
keyring=/usr/share/keyrings/debian-archive-keyring.gpg
if [ -n "$mirror" ] && [ -f "$keyring" ]; then
	echo "deb [signed-by=$keyring] $mirror trixie main" >>"$work/sources.list"
fi

apt() {
	apt-get -q -o Dir::Etc::SourceList="$work/sources.list" \
		-o Dir::Etc::SourceParts="$work/parts" -o Dir::State::Lists="$work/lists" \
		-o Dir::Cache="$work/cache" -o APT::Sandbox::User=root "$@"
}
# an unreachable third-party source must not stop the Debian ones
apt update >"$work/log" 2>&1 || true

cjson() {
	ver=$(dpkg-query -W -f='${Version}' libcjson-dev 2>/dev/null) || {
		note "libcjson-dev not installed"
		return 1
	}
	command -v patch >/dev/null || {
		note "no patch(1) to build cJSON"
		return 1
	}
	cd "$work/cjson"
	apt source --download-only "cjson=$ver" >>"$work/log" 2>&1 || {
		note "apt-get source cjson=$ver failed (see $work/log)"
		return 1
	}
	# apt-get checked the files against the signed Sources index; unpack them as
	# dpkg-source would: the upstream tarball, then debian/, then the patches in order
	mkdir tree
	for t in cjson_*.orig.tar.* cjson_*.debian.tar.*; do
		[ "${t#*.debian.}" = "$t" ] && strip=1 || strip=0
		tar -xf "$t" -C tree --strip-components="$strip" || {
			note "cannot unpack $t"
			return 1
		}
	done
	if [ -f tree/debian/patches/series ]; then
		grep -v '^[[:space:]]*\(#\|$\)' tree/debian/patches/series | while read -r p _; do
			patch -d tree -p1 -s -N <"tree/debian/patches/$p" || exit 1
		done || {
			note "a Debian patch of cJSON did not apply"
			return 1
		}
	fi
	${CC:-cc} -O2 -g -fPIE -fstack-protector-strong -D_FORTIFY_SOURCE=2 -c -o cJSON.o \
		tree/cJSON.c || {
		note "cJSON.c did not compile"
		return 1
	}
	if ! { ar rcs libcjson.a cJSON.o && mv libcjson.a "$out/libcjson.a"; }; then
		note "cannot archive cJSON.o"
		return 1
	fi
	echo "sluice: built $out/libcjson.a from Debian's cjson $ver"
}

mnl() {
	cd "$work/mnl"
	arch=$(${CC:-cc} -print-multiarch)
	if [ -f "/usr/lib/$arch/libmnl.a" ]; then
		cp "/usr/lib/$arch/libmnl.a" .
		from="the system's libmnl-dev"
	else
		apt download libmnl-dev/trixie >>"$work/log" 2>&1 || {
			note "no libmnl-dev from trixie (see $work/log)"
			return 1
		}
		if ! { dpkg-deb -x libmnl-dev_*.deb deb && cp "deb/usr/lib/$arch/libmnl.a" .; }; then
			note "the libmnl-dev package holds no libmnl.a"
			return 1
		fi
		from="Debian's libmnl-dev $(dpkg-deb -f libmnl-dev_*.deb Version) (trixie)"
	fi
	# it must link into a static-pie program with this system's libc, and work
	cat >trial.c <<-'EOF'
		#include <libmnl/libmnl.h>
		#include <linux/netlink.h>
		int main(void)
		{
			struct mnl_socket *nl = mnl_socket_open(NETLINK_ROUTE);

			if (!nl || mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0)
				return 1;
			return mnl_socket_close(nl);
		}
	EOF
	if ! { ${CC:-cc} -O2 -static-pie -o trial trial.c libmnl.a >>"$work/log" 2>&1 && ./trial; }; then
		note "libmnl.a from $from does not link or run here (see $work/log)"
		return 1
	fi
	mv libmnl.a "$out/libmnl.a"
	echo "sluice: $out/libmnl.a from $from"
}

[ -f "$out/libcjson.a" ] || (cjson) || true
[ -f "$out/libmnl.a" ] || (mnl) || true
