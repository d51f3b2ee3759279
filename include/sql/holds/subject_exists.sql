-- Whether an account with this user id exists (live or deleted but not yet purged).
SELECT EXISTS (SELECT 1 FROM app.users WHERE user_id = %(user_id)s)
