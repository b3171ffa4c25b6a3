/* modules.c: the features wardd serves, in dispatch order.  Add a line when a feature file
 * gains a route table. */
#include "http.h"

extern const srv_module srv_module_core;
extern const srv_module srv_module_tokens, srv_module_alerts, srv_module_notify;
extern const srv_module srv_module_cases;
extern const srv_module srv_module_pupils;
extern const srv_module srv_module_web;
extern const srv_module srv_module_trust;
extern const srv_module srv_module_pupil_report;

const srv_module *const srv_modules[] = {
    &srv_module_core,
    &srv_module_tokens,
    &srv_module_alerts,
    &srv_module_notify,
    &srv_module_cases,
    &srv_module_pupils,
    &srv_module_trust,
    &srv_module_pupil_report,
    &srv_module_web,
    NULL,
};
