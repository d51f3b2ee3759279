-- Every hold, the active ones first, newest first.
SELECT hold_id, user_id, reason, reference, placed_by, placed_at, released_at, released_by, release_reason
FROM governance.legal_holds
ORDER BY released_at IS NOT NULL, placed_at DESC, hold_id DESC
LIMIT %(limit)s
