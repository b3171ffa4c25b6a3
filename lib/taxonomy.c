/*
 * taxonomy.c: the nine areas of concern, the one table every part of ward reads (rules,
 * alerts, concerns, the API, the UI and reports).  Words and advice are the seed's
 * ("Child Internet Safety: what challenges face practitioners"), with the UK guidance that
 * DESIGN.md adds for peer-images and household-images.
 */
#include <string.h>

#include <ward/common.h>

#define GENERAL                                                                                    \
	"Reassure the child that they are not to blame.\n"                                         \
	"Take possession of the device to prevent further activity and preserve evidence; keep "   \
	"it switched off and do not look through it.\n"                                            \
	"Tell the designated safeguarding lead (DSL) now.\n"                                        \
	"Do not challenge the abuser: you may alert them and compromise a criminal "               \
	"investigation.\n"                                                                         \
	"Do not start an investigation: the DSL contacts the police as soon as possible.\n"        \
	"Never ignore it: children elsewhere may still be at risk.\n"

static const ward_area_info areas[WARD_AREA_COUNT] = {
	{WARD_AREA_ADULT_CONTENT, "adult-content", "Viewing adult content",
	 "Children who view adult pornography",
	 "Talk with the child calmly about what they saw and how it made them feel; they are not "
	 "in trouble for telling you.\n"
	 "Check whether an adult showed or sent the material: if so, treat it as possible grooming "
	 "and tell the DSL now.\n"
	 "Ask the IT technician to review filtering for the route the child used."},
	{WARD_AREA_ABUSE_IMAGES_SOLD, "abuse-images-sold", "Images sold for abuse off-line",
	 "Images of children sold on-line for sexual abuse off-line",
	 "Do not open, copy or forward any image or link: report the location to the DSL, who "
	 "informs the police and the IWF.\n"
	 "Preserve the device untouched for the police."},
	{WARD_AREA_EXPLOITATION, "exploitation", "Exploitation arranged by phone or online",
	 "Children abused through prostitution using the internet and mobile phones to "
	 "communicate with their abusers",
	 "Gifts, money, travel or older 'friends' arranged by phone are warning signs of "
	 "exploitation: tell the DSL now.\n"
	 "The DSL refers to police and children's social care; do not contact the adults "
	 "involved."},
	{WARD_AREA_CYBERSEX, "cybersex", "Sexual contact online",
	 "Adults or young people who engage in 'cyber sex' with children",
	 "An adult asking a child to go on camera or take part in sexual talk is a crime: the DSL "
	 "contacts the police or CEOP at once.\n"
	 "Keep the device as it is; do not screenshot or forward anything."},
	{WARD_AREA_PEER_IMAGES, "peer-images", "Images of young people shared by peers",
	 "Young people who place images of other young people on-line",
	 "Do not view, copy, print, forward, save or ask for the image (UKCIS).\n"
	 "Refer to police or children's social care at once if an adult is involved, if there is "
	 "coercion, blackmail or grooming, if a child is under 13, or if there is immediate risk "
	 "of harm.\n"
	 "Otherwise the DSL decides, with the young people, on support and on removing the "
	 "image (Report Remove)."},
	{WARD_AREA_HOUSEHOLD_IMAGES, "household-images", "Household member with abuse images",
	 "Children living in the same household as adults who download or distribute sexually "
	 "abusive images of children",
	 "Do not tell parents or carers before the police or children's social care advise: they "
	 "may be implicated.\n"
	 "The DSL refers to children's social care and the police the same day."},
	{WARD_AREA_GROOMING, "grooming", "Grooming online for abuse off-line",
	 "Children groomed on-line for sexual abuse off-line",
	 "Secrecy, flattery, gifts, moving to private apps and plans to meet are the pattern of "
	 "grooming: tell the DSL now, even if each step seems small.\n"
	 "If a meeting has been arranged, the DSL contacts the police at once (999 if the child is "
	 "in danger now)."},
	{WARD_AREA_LIVE_ABUSE, "live-abuse", "Live-streamed abuse",
	 "Children sold on-line for live sexual abuse on-line",
	 "Live-streamed abuse is an emergency: the DSL contacts the police at once (999 if a child "
	 "is in danger now).\n"
	 "Do not join, record or watch any stream."},
	{WARD_AREA_ABUSE_IMAGES_SUBJECT, "abuse-images-subject", "A child made the subject of abuse images",
	 "Children made the subject of child abuse images",
	 "Do not ask to see, copy or save any image: the child has done nothing wrong.\n"
	 "The DSL contacts the police or CEOP, and can help the child use Report Remove to have "
	 "images taken down."},
};

const ward_area_info *ward_area_get(ward_area a)
{
	if ((unsigned)a >= WARD_AREA_COUNT)
		return NULL;
	return &areas[a];
}

int ward_area_from_id(const char *id)
{
	for (int i = 0; id && i < WARD_AREA_COUNT; i++)
		if (strcmp(id, areas[i].id) == 0)
			return i;
	return -1;
}

const char *ward_general_guidance(void)
{
	return GENERAL;
}
