-- Fragment: the row belongs to a person under an active legal hold.
EXISTS (SELECT 1 FROM governance.legal_holds AS h WHERE h.user_id = t.{subject_column} AND h.released_at IS NULL)
