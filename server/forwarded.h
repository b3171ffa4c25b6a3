/* forwarded.h: the client's address behind trusted reverse proxies.  wardd takes the address
 * of the TCP peer; only when that peer is one of the configured trusted proxies does it read
 * the header the proxy writes (X-Forwarded-For, or RFC 7239 Forwarded), walking it from the
 * right past addresses that are themselves trusted proxies and taking the first one that is
 * not.  A header from any other peer is never read, and a malformed header is ignored whole:
 * the peer's address stands (the request is never refused for it). */
#ifndef WARDD_FORWARDED_H
#define WARDD_FORWARDED_H

#include <stddef.h>
#include <stdint.h>

#define SRV_PROXIES_MAX    64   /* networks in trusted_proxies */
#define SRV_FORWARDED_MAX  2048 /* longest header read (all its lines joined); longer is ignored */
#define SRV_FORWARDED_HOPS 32   /* most addresses in a header; more is ignored */

/* A list of networks, every one kept as IPv6 (IPv4 as ::ffff:a.b.c.d/96+bits), so one
 * comparison serves both families and an IPv4-mapped peer matches its IPv4 entry. */
typedef struct srv_proxies {
	size_t n;
	struct {
		uint8_t addr[16];
		uint8_t bits; /* prefix length over the 128 bits */
	} net[SRV_PROXIES_MAX];
} srv_proxies;

/* Which header the trusted proxies write.  Only that one is read: a proxy that writes one of
 * them passes the other through from the client untouched. */
typedef enum srv_fwd_header { SRV_FWD_XFF = 0, SRV_FWD_FORWARDED = 1 } srv_fwd_header;

/* Parses trusted_proxies: numeric addresses and CIDR ranges (IPv4 and IPv6), separated by
 * commas and/or spaces; "" is the empty list.  A range with bits set past its prefix
 * ("10.0.0.1/8") is refused rather than guessed at.  Returns 0, or -1 with a reason in msg
 * (cap bytes, copied) and *p left empty. */
int srv_proxies_parse(srv_proxies *p, const char *list, char *msg, size_t cap);

/* 1 when the list holds a range that matches every address of a family (0.0.0.0/0, ::/0):
 * every client could then choose its own address. */
int srv_proxies_everything(const srv_proxies *p);

/* 1 when addr (numeric text, IPv4 or IPv6, NUL-terminated) is in the list. */
int srv_proxies_contains(const srv_proxies *p, const char *addr);

/* The client's address for a request from peer (numeric text) carrying header value hdr (len
 * bytes, not NUL-terminated; NULL when absent) of kind which.  Writes the address to out (cap
 * bytes; canonical text, IPv4 dotted) and returns 1 when it came from the header; copies peer
 * and returns 0 when the peer is not trusted, the header is absent, malformed or too long, or
 * the first untrusted hop is "unknown" or obfuscated (Forwarded).  When every hop is trusted,
 * the leftmost is the client. */
int srv_forwarded_client(const srv_proxies *p, srv_fwd_header which, const char *peer,
                         const char *hdr, size_t len, char *out, size_t cap);

#endif
