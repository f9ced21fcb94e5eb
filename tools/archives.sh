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
# libcurl.a is rebuilt when libcurl4-openssl-dev has been updated since (a security update is
# a new Debian revision); if that fails, the commands link the shared one, which apt updated.
# Either way they are relinked: the commands linked with the old archive are removed.
curl_ver=$(dpkg-query -W -f='${Version}' libcurl4-openssl-dev 2>/dev/null || true)
if [ -f "$out/libcurl.a" ] && [ "$(cat "$out/libcurl.version" 2>/dev/null)" != "$curl_ver" ]; then
	rm -f "$out/libcurl.a" "$out/libcurl.version" "$build/bin/sluicectl" "$build/bin/sluiced"
fi
[ -f "$out/libcjson.a" ] && [ -f "$out/libmnl.a" ] && [ -f "$out/libcurl.a" ] && exit 0

note() {
	echo "sluice: $1: linking the shared library instead" >&2
}

rm -rf "$work"
mkdir -p "$out" "$work/lists/partial" "$work/cache/archives/partial" "$work/parts" \
	"$work/cjson" "$work/mnl" "$work/curl"

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

# source_tree PKG VER: Debian's source package PKG=VER unpacked into $work/PKG/tree (the
# current directory then), as dpkg-source would: the upstream tarball, then debian/ over it;
# its patches are left to the caller. apt-get checked every file against the signed
# Sources index (so upstream's own .asc signature is not needed).
source_tree() {
	command -v patch >/dev/null || {
		note "no patch(1) to build $1"
		return 1
	}
	cd "$work/$1"
	apt source --download-only "$1=$2" >>"$work/log" 2>&1 || {
		note "apt-get source $1=$2 failed (see $work/log)"
		return 1
	}
	mkdir tree
	for t in "$1"_*.orig.tar.* "$1"_*.debian.tar.*; do
		[ "${t%.asc}" = "$t" ] || continue
		[ "${t#*.debian.}" = "$t" ] && strip=1 || strip=0
		tar -xf "$t" -C tree --strip-components="$strip" || {
			note "cannot unpack $t"
			return 1
		}
	done
}

cjson() {
	ver=$(dpkg-query -W -f='${Version}' libcjson-dev 2>/dev/null) || {
		note "libcjson-dev not installed"
		return 1
	}
	source_tree cjson "$ver" || return 1
	# then the patches in order, as dpkg-source applies them
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

# libcurl for the commands (sluicectl, sluiced), from Debian's curl source package of the
# installed libcurl4-openssl-dev, Debian's patches applied (its CVE fixes), configured with only
# what the etcd backend uses: HTTP/1.1 and HTTP/2 (nghttp2) over TCP, TLS through OpenSSL.
# Debian's own libcurl loads ~30 shared libraries (Kerberos, LDAP, librtmp and GnuTLS, libssh2,
# libpsl, libidn2, brotli, zstd...) whose pages count in every command's RSS: sluiced peaked
# at 12.9 MiB programming 1,000 peers, 9.3 of them mapped files. Linked with libnghttp2.a,
# libssl.a and libcrypto.a (libnghttp2-dev, libssl-dev) the commands load no library but libc.
libcurl() {
	ver=$curl_ver
	[ -n "$ver" ] || {
		note "libcurl4-openssl-dev not installed"
		return 1
	}
	arch=$(${CC:-cc} -print-multiarch)
	for a in libnghttp2.a libssl.a libcrypto.a; do
		[ -f "/usr/lib/$arch/$a" ] || {
			note "no /usr/lib/$arch/$a (libnghttp2-dev, libssl-dev) for a static libcurl"
			return 1
		}
	done
	source_tree curl "$ver" || return 1
	# The patches in order, as debian/rules prepares its OpenSSL flavour (libcurl4): all
	# but the last two of the series, which turn the tree into the GnuTLS and NSS flavours.
	# Three touch configure.ac or Makefile.am, which are not regenerated here (no autoreconf,
	# and AM_MAINTAINER_MODE keeps make from doing it): they concern GSS-API's and
	# OpenLDAP's link flags and zsh completion, all disabled or not built below.
	grep -v '^[[:space:]]*\(#\|$\)' tree/debian/patches/series |
		grep -v '^\(90_gnutls\|99_nss\)\.patch' | while read -r p _; do
		# a patch of another build input than those three would apply and silently not
		# take effect: refused, so that Debian's own build (the shared library) is used
		case $p in
		08_enable-zsh.patch | build-Divide-mit-krb5-gssapi-link-flags-* | \
			Use-OpenLDAP-specific-functionality.patch) ;;
		*)
			if grep -Eq '^\+\+\+ [^/ ]*/(configure\.ac|acinclude\.m4|m4/|Makefile\.am|lib/[^ ]*\.(am|inc)|include/[^ ]*\.am)' \
				"tree/debian/patches/$p"; then
				echo "$p changes curl's build, which is not regenerated here" >>"$work/log"
				exit 1
			fi
			;;
		esac
		patch -d tree -p1 -s -N -F0 <"tree/debian/patches/$p" >>"$work/log" 2>&1 || exit 1
	done || {
		note "a Debian patch of curl did not apply (see $work/log)"
		return 1
	}
	# Debian 12's hardening flags (its dpkg-buildflags: stack protector, fortify) and CA
	# paths; proxy support stays (the backend sets CURLOPT_NOPROXY), and so do the verbose
	# strings: curl_easy_strerror() and the error buffer are what the store's errors quote.
	# The patches apply without fuzz, as dpkg-source applies them.
	cd tree
	./configure -q --disable-shared --enable-static --with-pic \
		--disable-dependency-tracking --enable-threaded-resolver \
		CFLAGS="-O2 -g -fstack-protector-strong" \
		CPPFLAGS="-D_FORTIFY_SOURCE=2" \
		--with-openssl --with-nghttp2 --with-ca-path=/etc/ssl/certs \
		--with-ca-bundle=/etc/ssl/certs/ca-certificates.crt \
		--without-zlib --without-brotli --without-zstd --without-libpsl --without-libidn2 \
		--without-librtmp --without-libssh2 --without-libssh --without-gssapi \
		--without-hyper --without-ngtcp2 --without-nghttp3 --without-quiche --without-msh3 \
		--without-libgsasl --disable-ldap --disable-ldaps --disable-rtsp --disable-dict \
		--disable-telnet --disable-tftp --disable-pop3 --disable-imap --disable-smb \
		--disable-smtp --disable-gopher --disable-mqtt --disable-ftp --disable-file \
		--disable-manual --disable-libcurl-option --disable-ntlm --disable-ntlm-wb \
		--disable-tls-srp --disable-unix-sockets --disable-cookies --disable-doh \
		--disable-mime --disable-netrc --disable-progress-meter --disable-alt-svc \
		--disable-hsts --disable-websockets --disable-headers-api \
		--disable-get-easy-options --disable-http-auth --disable-crypto-auth \
		--disable-dateparse --disable-openssl-auto-load-config >>"$work/log" 2>&1 || {
		note "curl's configure failed (see $work/log)"
		return 1
	}
	make -s -j"$(nproc 2>/dev/null || echo 2)" -C lib libcurl.la >>"$work/log" 2>&1 || {
		note "libcurl did not compile (see $work/log)"
		return 1
	}
	cd ..
	# it must link static-pie with the system's headers (the same version) and speak HTTP/2
	cat >trial.c <<-'EOF'
		#include <curl/curl.h>
		int main(void)
		{
			curl_version_info_data *v;

			if (curl_global_init(CURL_GLOBAL_DEFAULT))
				return 1;
			v = curl_version_info(CURLVERSION_NOW);
			return !(v->features & CURL_VERSION_HTTP2) || !(v->features & CURL_VERSION_SSL);
		}
	EOF
	if ! { ${CC:-cc} -O2 -static-pie -o trial trial.c tree/lib/.libs/libcurl.a \
		-l:libnghttp2.a -l:libssl.a -l:libcrypto.a >>"$work/log" 2>&1 && ./trial; }; then
		note "the libcurl.a built does not link or run here (see $work/log)"
		return 1
	fi
	mv tree/lib/.libs/libcurl.a "$out/libcurl.a"
	echo "$ver" >"$out/libcurl.version"
	rm -rf tree
	echo "sluice: built $out/libcurl.a from Debian's curl $ver (HTTP, HTTP/2, OpenSSL only)"
}

[ -f "$out/libcjson.a" ] || (cjson) || true
[ -f "$out/libmnl.a" ] || (mnl) || true
[ -f "$out/libcurl.a" ] || (libcurl) || true
