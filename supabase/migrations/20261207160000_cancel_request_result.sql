-- What came of a user's cancel request (20261207000002): the sync flow closes each open request with
-- handled_at and this (`cancelled`, or why not: already posted, its post carries other platforms).
alter table public.delivery_cancel_requests
    add column if not exists result text check (result is null or length(result) <= 500);
