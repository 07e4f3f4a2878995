-- The heartbeat (renew_claims, 20261207000010) was granted to `authenticated`, landing beside
-- 20261207000002, which takes every ledger-writing function away from signed-in users: a user could
-- keep a claim alive and hold a delivery back. Only the service role (the publishing run) beats.
revoke execute on function public.renew_claims(text, double precision, timestamptz) from authenticated;
