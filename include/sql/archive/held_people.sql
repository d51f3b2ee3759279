-- Everyone under an active legal hold (their pseudonyms find their archived events).
SELECT DISTINCT user_id FROM governance.legal_holds WHERE released_at IS NULL
