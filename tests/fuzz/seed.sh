#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Regenerates the committed seed corpora in tests/fuzz/corpus/<target> from the conformance
# cases (tests/conformance/cases) and a few hand-written inputs: each file is one input,
# named by the SHA-1 of its content. Usage: tests/fuzz/seed.sh
set -eu
cd "$(dirname "$0")/../.."
C=(tests/conformance/cases/*.json)
out=tests/fuzz/corpus

put() { # TARGET: stdin is one input
	local f
	f=$(mktemp)
	cat >"$f"
	mv "$f" "$out/$1/$(sha1sum <"$f" | cut -c1-16)"
}
each() { # TARGET JQ: every distinct value JQ finds in the cases, one input each
	local v
	jq -c "$2" "${C[@]}" | sort -u | while IFS= read -r v; do printf '%s' "$v" | put "$1"; done
}

# only the corpora made here: etcd_pb, k8s, netconf and policy keep their hand-made seeds
rm -rf "$out"/{conf,result,prevresult,cni_args,portmappings}
mkdir -p "$out"/{conf,result,prevresult,cni_args,portmappings}
each conf '.[] | .stdin // empty'
jq -r '.[] | .stdin_raw // empty' "${C[@]}" | while IFS= read -r v; do printf '%s' "$v" | put conf; done
each prevresult '.[] | .stdin.prevResult // empty'
each result '.[] | .stdin.prevResult // empty'
each result '.[] | .expect // empty | select(.interfaces or .ips or .routes or .dns)'
each portmappings '.[] | .stdin.runtimeConfig.portMappings // empty'
jq -r '.[] | .env.CNI_ARGS // empty' "${C[@]}" | sort -u | while IFS= read -r v; do
	printf '%s' "$v" | put cni_args
done
for v in 'IP=10.1.0.9' 'IP=10.1.0.9,fd01::9' 'MAC=0a:58:0a:01:00:09' 'IgnoreUnknown=true;K8S_POD_NAME=a;K8S_POD_NAMESPACE=b' \
	'IgnoreUnknown=1;FOO=bar' 'IP=' '=x' 'IP=10.1.0.9;MAC=0a:58:0a:01:00:09;IgnoreUnknown=0'; do
	printf '%s' "$v" | put cni_args
done
