/* fuzz_srv_favourites.c: merging ward's bookmarks into a school's existing Firefox
 * policies.json (`ward admin favourites`), whose content ward does not control.  Any input
 * either merges (the result holds each of ward's bookmarks once and serialises) or is refused
 * with a reason.  Named srv_ so the runner links jansson (with the server's libraries). */
#include <assert.h>
#include <stdarg.h>
#include <stdint.h>

#include "../../cli/cmd_favourites.c"

void cli_error(const char *fmt, ...)
{
	(void)fmt;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[256];
	err[0] = '\0';
	if (size == 0)
		return 0;
	json_t *doc = fav_firefox_merge((const char *)data, size, "Child safety", err, sizeof err);
	if (!doc) {
		assert(err[0] != '\0');
		return 0;
	}
	json_t *marks = json_object_get(json_object_get(doc, "policies"), "Bookmarks");
	size_t i, ours = 0;
	json_t *b;
	json_array_foreach(marks, i, b) ours += (size_t)is_ours(b);
	assert(ours == N_FAVS);
	/* merging the result again changes nothing */
	char *once = json_dumps(doc, JSON_COMPACT);
	assert(once);
	json_t *again = fav_firefox_merge(once, strlen(once), "Child safety", err, sizeof err);
	assert(again);
	char *twice = json_dumps(again, JSON_COMPACT);
	assert(twice && strcmp(once, twice) == 0);
	free(once);
	free(twice);
	json_decref(again);
	json_decref(doc);
	return 0;
}
