// SPDX-License-Identifier: Apache-2.0
/* base64 as etcd's gateway speaks it: RFC 4648 vectors, binary round trips, and the
 * malformed inputs a decoder must refuse rather than half-decode. */
#define T_NAME "test_base64"
#include <stdlib.h>

#include "base/base64.h"
#include "t.h"

static const char *enc(const char *s, char *buf)
{
	base64_encode(s, strlen(s), buf);
	return buf;
}

static const char *dec(const char *s, char *buf)
{
	ssize_t n = base64_decode(s, strlen(s), buf);

	if (n < 0)
		return "(invalid)";
	buf[n] = '\0';
	return buf;
}

static void test_rfc4648_vectors(void)
{
	char b[64];

	T_STREQ(enc("", b), "");
	T_STREQ(enc("f", b), "Zg==");
	T_STREQ(enc("fo", b), "Zm8=");
	T_STREQ(enc("foo", b), "Zm9v");
	T_STREQ(enc("foob", b), "Zm9vYg==");
	T_STREQ(enc("fooba", b), "Zm9vYmE=");
	T_STREQ(enc("foobar", b), "Zm9vYmFy");
	/* the key of the reference transcript */
	T_STREQ(enc("/coreos.com/network/config", b), "L2NvcmVvcy5jb20vbmV0d29yay9jb25maWc=");
	T_STREQ(dec("", b), "");
	T_STREQ(dec("Zg==", b), "f");
	T_STREQ(dec("Zm8=", b), "fo");
	T_STREQ(dec("Zm9vYmFy", b), "foobar");
	T_STREQ(dec("L2NvcmVvcy5jb20vbmV0d29yay9jb25maWc=", b), "/coreos.com/network/config");
}

static void test_binary_roundtrip(void)
{
	unsigned char in[300], out[300];
	char e[BASE64_ENCODED_LEN(300) + 1];

	for (size_t i = 0; i < sizeof(in); i++)
		in[i] = (unsigned char)(i * 7 + 255);
	for (size_t len = 0; len <= sizeof(in); len += 1) {
		size_t n = base64_encode(in, len, e);

		T_EQ(n, BASE64_ENCODED_LEN(len));
		T_EQ(strlen(e), n);
		T_EQ(base64_decode(e, n, out), (ssize_t)len);
		T_ASSERT(!memcmp(in, out, len));
	}
	/* '+' and '/' are the two last letters (not the URL alphabet) */
	T_STREQ(enc("\xfb\xff", e), "+/8=");
}

static void test_malformed_refused(void)
{
	char b[64];

	T_STREQ(dec("Zg=", b), "(invalid)"); /* length */
	T_STREQ(dec("Zg", b), "(invalid)");
	T_STREQ(dec("Z===", b), "(invalid)"); /* three pads */
	T_STREQ(dec("Zg==Zg==", b), "(invalid)"); /* padding before the end */
	T_STREQ(dec("Zm9v\nYmFy", b), "(invalid)"); /* whitespace */
	T_STREQ(dec("Zm-v", b), "(invalid)"); /* URL alphabet */
	T_STREQ(dec("Zm_v", b), "(invalid)");
	T_STREQ(dec("Zh==", b), "(invalid)"); /* non-zero bits left over */
	T_STREQ(dec("Zm9=", b), "(invalid)");
	T_STREQ(dec("Z=g=", b), "(invalid)"); /* a pad then a letter */
	T_STREQ(dec("Zm8=", b), "fo");
}

int main(void)
{
	T_RUN(test_rfc4648_vectors);
	T_RUN(test_binary_roundtrip);
	T_RUN(test_malformed_refused);
	return T_EXIT();
}
