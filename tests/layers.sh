#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# common/ is layered (common/LAYERS, lowest first): a file includes headers of its own
# folder or of a lower one, never of a higher one, and every folder is a listed layer.
# Plugins and commands include headers only, by their layer path. Checks the tree, then
# checks that it notices a planted violation. Usage: tests/layers.sh [ROOT]
set -u
cd "${1:-$(dirname "$0")/..}"

check() { # ROOT: prints one line per violation, returns non-zero if any
	local root=$1 bad=0 f dir inc layer want i
	declare -A rank=()
	i=0
	while read -r layer _; do
		[ -z "$layer" ] || [[ $layer == \#* ]] && continue
		rank[$layer]=$i
		i=$((i + 1))
	done <"$root/common/LAYERS"
	for dir in "$root"/common/*/; do
		dir=$(basename "$dir")
		[ -n "${rank[$dir]:-}" ] || { echo "common/$dir is not a layer in common/LAYERS"; bad=1; }
	done
	for f in "$root"/common/*.[ch]; do
		[ -e "$f" ] && { echo "${f#$root/}: outside any layer"; bad=1; }
	done
	while IFS=: read -r f inc; do
		f=${f#$root/}
		inc=${inc#*\"}
		inc=${inc%\"*}
		want=${inc%%/*}
		# a command's own header (sluicectl.h, what its verbs' files share) by bare name:
		# cmd/ sits above every layer and nothing else includes it
		if [[ $f == cmd/* && $inc != */* && -f "$root/$(dirname "$f")/$inc" ]]; then
			continue
		fi
		if [[ $inc != */* ]] || [ -z "${rank[$want]:-}" ]; then
			# a header of the file's own folder by bare name is not our style either
			echo "$f: includes \"$inc\", which names no layer"
			bad=1
		elif [[ $f == common/* ]]; then
			layer=${f#common/}
			layer=${layer%%/*}
			if [ "${rank[$want]}" -gt "${rank[$layer]:-0}" ]; then
				echo "$f: $layer includes $inc, a higher layer"
				bad=1
			fi
		fi
	done < <(grep -H '^#include "' "$root"/common/*/*.[ch] "$root"/plugins/*/*.[ch] \
		$(ls "$root"/cmd/*/*.[ch] 2>/dev/null))
	return $bad
}

if out=$(check .); then
	echo "PASS layers:tree"
else
	echo "$out"
	echo "FAIL layers:tree"
fi
# the check itself: a copy with base including node must be refused, naming the file
tmp=$(mktemp -d /tmp/sluice-layers.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/common"
cp -r common/* "$tmp/common/"
cp -r plugins "$tmp/"
[ -d cmd ] && cp -r cmd "$tmp/"
printf '#include "node/brdev.h"\n' >>"$tmp/common/base/ip.c"
if out=$(check "$tmp") || [[ $out != *"common/base/ip.c: base includes node/brdev.h, a higher layer"* ]]; then
	echo "FAIL layers:planted-violation-found ($out)"
else
	echo "PASS layers:planted-violation-found"
fi

# No plugin loads or carries libcurl (or libyaml): only the commands do. The commands must
# show it, so that the check is known to see it when it is there.
if [ -n "${BUILD_DIR:-}" ] && [ -x "$BUILD_DIR/bin/sluicectl" ]; then
	carries() { # BINARY: true when it links or contains libcurl or libyaml
		readelf -d "$1" 2>/dev/null | grep -q 'NEEDED.*\(libcurl\|libyaml\)' ||
			nm -D "$1" 2>/dev/null | grep -q ' \(curl_easy_init\|yaml_parser_initialize\)$' ||
			nm "$1" 2>/dev/null | grep -q ' \(curl_easy_init\|yaml_parser_initialize\)$'
	}
	for b in "$BUILD_DIR"/bin/sluice-*; do
		if carries "$b"; then
			echo "FAIL layers:no-libcurl-in-$(basename "$b")"
		else
			echo "PASS layers:no-libcurl-in-$(basename "$b")"
		fi
	done
	if carries "$BUILD_DIR/bin/sluicectl"; then
		echo "PASS layers:sluicectl-carries-libcurl"
	else
		echo "FAIL layers:sluicectl-carries-libcurl (the check above cannot see it)"
	fi
fi
