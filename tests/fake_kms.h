/* An in-process fake of KMS, linked with -Wl,--wrap=kj_http_post,--wrap=
 * kj_http_request in place of the network (tests/fake_kms.c). */
#ifndef KJ_FAKE_KMS_H
#define KJ_FAKE_KMS_H

#define KJ_FAKE_KEY1 "arn:aws:kms:us-east-1:111122223333:key/00000000-0000-4000-8000-000000000001"
#define KJ_FAKE_KEY2 "arn:aws:kms:us-east-1:111122223333:key/00000000-0000-4000-8000-000000000002"
#define KJ_FAKE_KEY3 "arn:aws:kms:us-east-1:111122223333:key/00000000-0000-4000-8000-000000000003"

/* Every request is counted here when the main program defines
 * `unsigned long kj_fake_kms_calls` and exports it (-rdynamic): the module's
 * copy of the fake finds it with dlsym. */
extern unsigned long kj_fake_kms_calls;

/* KJ_FAKE_KMS in the environment changes the answers:
 *   open       Decrypt trusts the blob without checking its tag (fuzzing)
 *   throttle   every call fails with ThrottlingException
 *   500        every call fails with HTTP 500 */

#endif
