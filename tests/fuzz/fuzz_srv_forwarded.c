/* Fuzzes the client's address behind trusted proxies (server/forwarded.h): the input's first
 * byte chooses the header (X-Forwarded-For or Forwarded) and the peer, the rest is the header's
 * bytes in a buffer of exactly their length (so a read past them is caught), and the whole
 * input is also read as a trusted_proxies list.  Contract: an untrusted peer's header is never
 * read; an address taken from a header is numeric text in canonical form that parses back; a
 * refused list is left empty. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "forwarded.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static srv_proxies trusted, all;
	static int ready;
	static const char *const peers[] = {"127.0.0.1", "10.1.2.3", "2001:db8:1::7",
	                                    "192.0.2.1"}; /* the last is not trusted */
	char out[64], msg[160], *hdr, *list;
	srv_proxies p;
	const char *peer;
	srv_fwd_header which;
	int rc;
	if (!ready) {
		if (srv_proxies_parse(&trusted, "127.0.0.1 10.0.0.0/8, 2001:db8:1::/48", msg,
		                      sizeof msg) ||
		    srv_proxies_parse(&all, "0.0.0.0/0 ::/0", msg, sizeof msg))
			__builtin_trap();
		ready = 1;
	}
	if (size == 0)
		return 0;
	which = data[0] & 1 ? SRV_FWD_FORWARDED : SRV_FWD_XFF;
	peer = peers[(data[0] >> 1) & 3];
	hdr = malloc(size - 1 ? size - 1 : 1);
	if (!hdr)
		return 0;
	memcpy(hdr, data + 1, size - 1);
	memset(out, 0x55, sizeof out);
	rc = srv_forwarded_client(&trusted, which, peer, hdr, size - 1, out, sizeof out);
	if (!memchr(out, '\0', sizeof out))
		__builtin_trap();
	if (rc == 0 && strcmp(out, peer) != 0)
		__builtin_trap();
	if (rc == 1) {
		char again[64];
		if (strcmp(peer, "192.0.2.1") == 0 || !srv_proxies_contains(&all, out))
			__builtin_trap();
		/* canonical: read as a one-address header, it comes back as itself */
		if (srv_forwarded_client(&trusted, SRV_FWD_XFF, "127.0.0.1", out, strlen(out),
		                         again, sizeof again) != 1 &&
		    !srv_proxies_contains(&trusted, out))
			__builtin_trap();
		if (!srv_proxies_contains(&trusted, out) && strcmp(again, out) != 0)
			__builtin_trap();
	}
	free(hdr);
	/* the same bytes as a trusted_proxies list */
	list = malloc(size + 1);
	if (!list)
		return 0;
	memcpy(list, data, size);
	list[size] = '\0';
	if (srv_proxies_parse(&p, list, msg, sizeof msg) != 0) {
		if (p.n != 0 || !msg[0])
			__builtin_trap();
	} else {
		if (p.n > SRV_PROXIES_MAX)
			__builtin_trap();
		for (size_t i = 0; i < p.n; i++)
			if (p.net[i].bits > 128)
				__builtin_trap();
		(void)srv_proxies_everything(&p);
		(void)srv_proxies_contains(&p, "203.0.113.7");
	}
	free(list);
	return 0;
}
