// SPDX-License-Identifier: Apache-2.0
/* The apiserver's name and label checks (k8s.io/apimachinery/pkg/util/validation), with its
 * messages: object names, label keys and values, IANA service names of ports. */
#include <stdbool.h>
#include <string.h>

#include "k8s/object.h"

static bool lower_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

static bool alnum(char c)
{
	return lower_alnum(c) || (c >= 'A' && c <= 'Z');
}

/* [a-z0-9]([-a-z0-9]*[a-z0-9])? over s[0..n) */
static bool is_label(const char *s, size_t n)
{
	size_t i;

	if (!n || !lower_alnum(s[0]) || !lower_alnum(s[n - 1]))
		return false;
	for (i = 1; i + 1 < n; i++)
		if (!lower_alnum(s[i]) && s[i] != '-')
			return false;
	return true;
}

/* ([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9] over s[0..n) */
static bool is_name_part(const char *s, size_t n)
{
	size_t i;

	if (!n || !alnum(s[0]) || !alnum(s[n - 1]))
		return false;
	for (i = 1; i + 1 < n; i++)
		if (!alnum(s[i]) && s[i] != '-' && s[i] != '_' && s[i] != '.')
			return false;
	return true;
}

static const char label_msg[] =
	"a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name', or '123-abc')";
static const char subdomain_msg[] =
	"a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com')";

const char *k8s_check_dns_label(const char *s)
{
	size_t n = strlen(s);

	if (n > 63)
		return "must be no more than 63 characters";
	return is_label(s, n) ? NULL : label_msg;
}

static bool is_subdomain(const char *s, size_t n)
{
	const char *dot;

	while ((dot = memchr(s, '.', n))) {
		if (!is_label(s, dot - s))
			return false;
		n -= dot - s + 1;
		s = dot + 1;
	}
	return is_label(s, n);
}

const char *k8s_check_dns_subdomain(const char *s)
{
	size_t n = strlen(s);

	if (n > 253)
		return "must be no more than 253 characters";
	return is_subdomain(s, n) ? NULL : subdomain_msg;
}

/* A qualified name: [prefix/]name, the prefix a DNS subdomain (IsQualifiedName) */
const char *k8s_check_label_key(const char *s)
{
	const char *slash = strchr(s, '/'), *name = slash ? slash + 1 : s;
	size_t n = strlen(name);

	if (slash && strchr(name, '/'))
		return "a qualified name must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character, with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')";
	if (slash && slash == s)
		return "prefix part must be non-empty";
	if (slash && slash - s > 253)
		return "prefix part must be no more than 253 characters";
	if (slash && !is_subdomain(s, slash - s))
		return "prefix part a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com')";
	if (!n)
		return "name part must be non-empty";
	if (n > 63)
		return "name part must be no more than 63 characters";
	if (!is_name_part(name, n))
		return "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName', or 'my.name', or '123-abc')";
	return NULL;
}

const char *k8s_check_label_value(const char *s)
{
	size_t n = strlen(s);

	if (n > 63)
		return "must be no more than 63 characters";
	if (n && !is_name_part(s, n))
		return "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue', or 'my_value', or '12345')";
	return NULL;
}

/* IsValidPortName: an IANA service name (RFC 6335 5.1), in the apiserver's order */
const char *k8s_check_port_name(const char *s)
{
	size_t n = strlen(s), i;
	bool letter = false;

	if (n > 15)
		return "must be no more than 15 characters";
	if (!n)
		return "must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)";
	for (i = 0; i < n; i++) {
		if (!lower_alnum(s[i]) && s[i] != '-')
			return "must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)";
		letter |= s[i] >= 'a' && s[i] <= 'z';
	}
	if (!letter)
		return "must contain at least one letter (a-z)";
	if (strstr(s, "--"))
		return "must not contain consecutive hyphens";
	if (s[0] == '-' || s[n - 1] == '-')
		return "must not begin or end with a hyphen";
	return NULL;
}
