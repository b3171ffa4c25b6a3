/*
 * ward.h: the public API of libward, ward's scanning engine.
 *
 * Include this one header.  It pulls in the parts:
 *   ward/common.h  errors, version, the taxonomy of the nine areas of concern
 *   ward/text.h    rule databases, the text engine and its findings
 * and, as they are added, the conversation model, the URL categoriser and image hashing.
 *
 * Conventions: every function that can fail returns ward_status; objects are opaque handles
 * with _new/_load and _free; the comment above each function says who owns each pointer.
 * Every exported symbol starts with ward_.
 */
#ifndef WARD_WARD_H
#define WARD_WARD_H

#include <ward/common.h>
#include <ward/text.h>
#include <ward/conv.h>
#include <ward/guide.h>
#include <ward/url.h>
#include <ward/image.h>

#endif
