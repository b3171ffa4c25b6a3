/* Unit tests for the client's address behind trusted proxies (server/forwarded.h): the
 * trusted_proxies list (addresses and ranges of both families, refusals with their reasons,
 * the everything warning), X-Forwarded-For walked from the right past trusted hops, RFC 7239
 * Forwarded with quoted strings and ports, and every malformed, oversized or untrusted case
 * falling back to the peer's address. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "forwarded.h"

static srv_proxies list(const char *s)
{
	srv_proxies p;
	char msg[160];
	if (srv_proxies_parse(&p, s, msg, sizeof msg) != 0)
		fail_msg("%s: %s", s, msg);
	return p;
}

/* The address srv_forwarded_client chooses, and whether it came from the header. */
static const char *client(const srv_proxies *p, srv_fwd_header which, const char *peer,
                          const char *hdr, int *from_header)
{
	static char out[64];
	memset(out, 'x', sizeof out);
	*from_header =
	    srv_forwarded_client(p, which, peer, hdr, hdr ? strlen(hdr) : 0, out, sizeof out);
	return out;
}

#define XFF_IS(p, peer, hdr, want, from)                                                           \
	do {                                                                                       \
		int f_ = -1;                                                                       \
		assert_string_equal(client(p, SRV_FWD_XFF, peer, hdr, &f_), want);                 \
		assert_int_equal(f_, from);                                                        \
	} while (0)

#define FWD_IS(p, peer, hdr, want, from)                                                           \
	do {                                                                                       \
		int f_ = -1;                                                                       \
		assert_string_equal(client(p, SRV_FWD_FORWARDED, peer, hdr, &f_), want);           \
		assert_int_equal(f_, from);                                                        \
	} while (0)

static void proxies_list(void **state)
{
	srv_proxies p = list("127.0.0.1, 10.0.0.0/8  2001:db8::/32,\t::1");
	(void)state;
	assert_int_equal(p.n, 4);
	assert_true(srv_proxies_contains(&p, "127.0.0.1"));
	assert_false(srv_proxies_contains(&p, "127.0.0.2"));
	assert_true(srv_proxies_contains(&p, "10.255.1.2"));
	assert_true(srv_proxies_contains(&p, "::ffff:10.1.2.3")); /* a mapped peer, dual stack */
	assert_false(srv_proxies_contains(&p, "11.0.0.0"));
	assert_true(srv_proxies_contains(&p, "2001:db8:ffff::1"));
	assert_false(srv_proxies_contains(&p, "2001:db9::1"));
	assert_true(srv_proxies_contains(&p, "::1"));
	assert_false(srv_proxies_contains(&p, "::2"));
	assert_false(srv_proxies_contains(&p, "unknown"));
	assert_false(srv_proxies_contains(&p, "localhost"));
	assert_false(srv_proxies_everything(&p));
	/* odd prefix lengths */
	p = list("192.168.4.0/22 fe80::/10");
	assert_true(srv_proxies_contains(&p, "192.168.7.255"));
	assert_false(srv_proxies_contains(&p, "192.168.8.0"));
	assert_true(srv_proxies_contains(&p, "febf::1"));
	assert_false(srv_proxies_contains(&p, "fec0::1"));
	/* empty: nothing trusted */
	p = list("");
	assert_int_equal(p.n, 0);
	p = list(" , ");
	assert_int_equal(p.n, 0);
	assert_false(srv_proxies_contains(&p, "127.0.0.1"));
}

static void proxies_everything(void **state)
{
	srv_proxies p = list("0.0.0.0/0");
	(void)state;
	assert_true(srv_proxies_everything(&p));
	assert_true(srv_proxies_contains(&p, "203.0.113.1"));
	assert_false(srv_proxies_contains(&p, "2001:db8::1"));
	p = list("10.0.0.0/8, ::/0");
	assert_true(srv_proxies_everything(&p));
	assert_true(srv_proxies_contains(&p, "2001:db8::1"));
	assert_true(srv_proxies_contains(&p, "203.0.113.1")); /* ::/0 holds the mapped ones too */
	p = list("0.0.0.0/1, 128.0.0.0/1");
	assert_false(srv_proxies_everything(&p)); /* every address, but not written as one range */
}

static void proxies_refused(void **state)
{
	static const struct {
		const char *list, *why;
	} bad[] = {
	    {"10.0.0.1/8", "bits set past its prefix"},
	    {"10.0.0.0/33", "more than 32"},
	    {"::/129", "more than 128"},
	    {"10.0.0.0/", "not a number"},
	    {"10.0.0.0/1x", "not a number"},
	    {"10.0.0.0/0008", "not a number"},
	    {"proxy.example", "not a numeric"},
	    {"127.0.0.1:8080", "not a numeric"},
	    {"[::1]", "not a numeric"},
	    {"fe80::1%eth0", "not a numeric"},
	    {"1.2.3", "not a numeric"},
	    {"1.2.3.4.5", "not a numeric"},
	    {"256.1.1.1", "not a numeric"},
	    {"127.0.0.1, nonsense", "not a numeric"},
	};
	char msg[160];
	srv_proxies p;
	(void)state;
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		assert_int_equal(srv_proxies_parse(&p, bad[i].list, msg, sizeof msg), -1);
		if (!strstr(msg, bad[i].why))
			fail_msg("%s: %s", bad[i].list, msg);
		assert_int_equal(p.n, 0);
	}
	/* a ceiling on the entries */
	{
		char many[2048] = "";
		size_t n = 0;
		for (int i = 0; i <= SRV_PROXIES_MAX; i++)
			n += (size_t)snprintf(many + n, sizeof many - n, "10.0.%d.0/24 ", i);
		assert_int_equal(srv_proxies_parse(&p, many, msg, sizeof msg), -1);
		assert_non_null(strstr(msg, "more than"));
	}
}

static void xff_walk(void **state)
{
	srv_proxies p = list("127.0.0.1 10.0.0.0/8 2001:db8:1::/48");
	(void)state;
	/* the proxy's own line: the client it saw */
	XFF_IS(&p, "127.0.0.1", "203.0.113.7", "203.0.113.7", 1);
	/* addresses the client wrote itself sit to the left and are never taken */
	XFF_IS(&p, "127.0.0.1", "198.51.100.66, 203.0.113.7", "203.0.113.7", 1);
	/* past the trusted hops (a balancer in front of the proxy) */
	XFF_IS(&p, "127.0.0.1", "198.51.100.66,203.0.113.7 ,10.1.1.1,\t10.2.2.2", "203.0.113.7", 1);
	/* every hop trusted: the leftmost */
	XFF_IS(&p, "127.0.0.1", "10.9.9.9, 10.1.1.1", "10.9.9.9", 1);
	/* IPv6 in canonical form; a mapped IPv4 as IPv4 */
	XFF_IS(&p, "127.0.0.1", "2001:DB8:0:0:0::AB", "2001:db8::ab", 1);
	XFF_IS(&p, "127.0.0.1", "::ffff:203.0.113.9", "203.0.113.9", 1);
	XFF_IS(&p, "127.0.0.1", "203.0.113.9, 2001:db8:1::5", "203.0.113.9", 1);
	/* a trusted mapped peer */
	XFF_IS(&p, "::ffff:10.0.0.3", "203.0.113.7", "203.0.113.7", 1);
	/* an untrusted peer: its header is never read */
	XFF_IS(&p, "192.0.2.1", "203.0.113.7", "192.0.2.1", 0);
	XFF_IS(&p, "127.0.0.2", "203.0.113.7", "127.0.0.2", 0);
	XFF_IS(&p, "unknown", "203.0.113.7", "unknown", 0);
	/* no header */
	XFF_IS(&p, "127.0.0.1", NULL, "127.0.0.1", 0);
	/* no list: nothing is read, whatever the peer */
	{
		srv_proxies none = list("");
		XFF_IS(&none, "127.0.0.1", "203.0.113.7", "127.0.0.1", 0);
	}
}

static void xff_malformed(void **state)
{
	static const char *bad[] = {
	    "",
	    " ",
	    ",",
	    "203.0.113.7,",
	    ",203.0.113.7",
	    "203.0.113.7,,198.51.100.1",
	    "203.0.113.7:80", /* no ports in X-Forwarded-For */
	    "[2001:db8::1]",  /* nor brackets */
	    "[2001:db8::1]:443",
	    "203.0.113.7 198.51.100.1",
	    "client.example",
	    "unknown",
	    "_hidden",
	    "203.0.113",
	    "203.0.113.07",
	    "203.0.113.7%eth0",
	    "fe80::1%eth0",
	    "for=203.0.113.7",
	    "2001:db8::1::2",
	    "0x7f.0.0.1",
	    "203.0.113.256",
	};
	srv_proxies p = list("127.0.0.1");
	char big[SRV_FORWARDED_MAX + 64];
	char out[64];
	(void)state;
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		int f = -1;
		if (strcmp(client(&p, SRV_FWD_XFF, "127.0.0.1", bad[i], &f), "127.0.0.1") != 0 || f)
			fail_msg("taken from \"%s\"", bad[i]);
	}
	/* a NUL inside: the header is its bytes, not its C string */
	assert_int_equal(srv_forwarded_client(&p, SRV_FWD_XFF, "127.0.0.1", "203.0.113.7\0x", 13,
	                                      out, sizeof out),
	                 0);
	assert_string_equal(out, "127.0.0.1");
	/* longer than the ceiling, or more hops than the ceiling */
	memset(big, 0, sizeof big);
	for (size_t n = 0; n < SRV_FORWARDED_MAX;)
		n += (size_t)snprintf(big + n, sizeof big - n, "%s127.0.0.1", n ? "," : "");
	XFF_IS(&p, "127.0.0.1", big, "127.0.0.1", 0);
	big[0] = '\0';
	for (size_t i = 0, n = 0; i <= SRV_FORWARDED_HOPS; i++)
		n += (size_t)snprintf(big + n, sizeof big - n, "%s203.0.113.%zu", i ? "," : "", i);
	XFF_IS(&p, "127.0.0.1", big, "127.0.0.1", 0);
	/* one fewer is read */
	big[0] = '\0';
	for (size_t i = 0, n = 0; i < SRV_FORWARDED_HOPS; i++)
		n += (size_t)snprintf(big + n, sizeof big - n, "%s203.0.113.%zu", i ? "," : "", i);
	XFF_IS(&p, "127.0.0.1", big, "203.0.113.31", 1);
}

static void forwarded_rfc7239(void **state)
{
	srv_proxies p = list("127.0.0.1, 10.0.0.0/8, 2001:db8:1::/48");
	(void)state;
	/* RFC 7239's own examples */
	FWD_IS(&p, "127.0.0.1", "for=\"_gazonk\"", "127.0.0.1", 0);
	FWD_IS(&p, "127.0.0.1", "For=\"[2001:db8:cafe::17]:4711\"", "2001:db8:cafe::17", 1);
	FWD_IS(&p, "127.0.0.1", "for=192.0.2.60;proto=http;by=203.0.113.43", "192.0.2.60", 1);
	FWD_IS(&p, "127.0.0.1", "for=192.0.2.43, for=198.51.100.17", "198.51.100.17", 1);
	/* a port on IPv4, quoted as the grammar needs; an obfuscated port */
	FWD_IS(&p, "127.0.0.1", "for=\"192.0.2.4:80\"", "192.0.2.4", 1);
	FWD_IS(&p, "127.0.0.1", "for=\"192.0.2.4:_p1\"", "192.0.2.4", 1);
	FWD_IS(&p, "127.0.0.1", "for=\"[2001:db8::9]\";proto=https", "2001:db8::9", 1);
	/* quoted-pairs unescape */
	FWD_IS(&p, "127.0.0.1", "for=\"\\[2001:db8::9\\]\"", "2001:db8::9", 1);
	/* past trusted hops, and pairs in any order with spaces around them */
	FWD_IS(&p, "127.0.0.1",
	       "for=198.51.100.66, proto=https ; for=203.0.113.7 ,for=10.1.1.1;by=10.0.0.1",
	       "203.0.113.7", 1);
	FWD_IS(&p, "127.0.0.1", "for=10.9.9.9, for=\"[2001:db8:1::1]\"", "10.9.9.9", 1);
	/* the hop nearest wardd is unknown or obfuscated, or says whom for not at all */
	FWD_IS(&p, "127.0.0.1", "for=203.0.113.7, for=unknown", "127.0.0.1", 0);
	FWD_IS(&p, "127.0.0.1", "for=203.0.113.7, for=UNKNOWN:8080", "127.0.0.1", 0);
	FWD_IS(&p, "127.0.0.1", "for=203.0.113.7, for=_proxy2", "127.0.0.1", 0);
	FWD_IS(&p, "127.0.0.1", "for=203.0.113.7, proto=https", "127.0.0.1", 0);
	/* an unknown hop beyond the client is never reached */
	FWD_IS(&p, "127.0.0.1", "for=unknown, for=203.0.113.7", "203.0.113.7", 1);
	/* untrusted peer */
	FWD_IS(&p, "192.0.2.1", "for=203.0.113.7", "192.0.2.1", 0);
}

static void forwarded_malformed(void **state)
{
	static const char *bad[] = {
	    "",
	    "for=",
	    "for",
	    "=203.0.113.7",
	    "for=203.0.113.7:80",   /* a colon is not a token character: quote it */
	    "for=[2001:db8::1]",    /* nor brackets */
	    "for=\"[2001:db8::1]",  /* unterminated quote */
	    "for=\"[2001:db8::1\"", /* unterminated bracket */
	    "for=\"2001:db8::1\"",  /* IPv6 without its brackets */
	    "for=\"[192.0.2.4]\"",  /* IPv4 inside them */
	    "for=\"192.0.2.4:\"",
	    "for=\"192.0.2.4:123456\"",
	    "for=\"192.0.2.4:8a\"",
	    "for=\"192.0.2.4:_\"",
	    "for=\"[2001:db8::1]x\"",
	    "for=_",
	    "for=\"_a b\"",
	    "for=203.0.113.7;for=198.51.100.1", /* twice in one element */
	    "for=203.0.113.7,",
	    ",for=203.0.113.7",
	    "for=203.0.113.7,,for=198.51.100.1",
	    "for=203.0.113.7;",
	    "for=203.0.113.7 for=198.51.100.1",
	    "for=\"203.0.113.7\"x",
	    "for=\"a,b\"",
	    "for=client.example",
	    "for=203.0.113.7%eth0",
	    "203.0.113.7",
	    "for=\"203.0.113.7\x01\"",
	    "for=\"203.0.113.7\xc3\xa9\"",
	    "for=\"203.0.113.7\\",
	    "pr\xc3\xb6to=http;for=203.0.113.7",
	    "for=\"0123456789012345678901234567890123456789012345678901234567890123456789\"",
	};
	srv_proxies p = list("127.0.0.1");
	(void)state;
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		int f = -1;
		if (strcmp(client(&p, SRV_FWD_FORWARDED, "127.0.0.1", bad[i], &f), "127.0.0.1") !=
		        0 ||
		    f)
			fail_msg("taken from \"%s\"", bad[i]);
	}
	/* the other header's syntax is not this one's */
	FWD_IS(&p, "127.0.0.1", "203.0.113.7, 198.51.100.1", "127.0.0.1", 0);
	XFF_IS(&p, "127.0.0.1", "for=203.0.113.7", "127.0.0.1", 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(proxies_list),        cmocka_unit_test(proxies_everything),
	    cmocka_unit_test(proxies_refused),     cmocka_unit_test(xff_walk),
	    cmocka_unit_test(xff_malformed),       cmocka_unit_test(forwarded_rfc7239),
	    cmocka_unit_test(forwarded_malformed),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
