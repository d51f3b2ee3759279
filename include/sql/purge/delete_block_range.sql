-- Delete the due rows that no legal hold protects in a range of heap blocks (the block walk,
-- for rules without media). A TID range scan reads the blocks in their physical order, like
-- a sequential scan, and each row once. The due and held tests run at delete time, so a row
-- a concurrent writer changed is judged as it is now.
DELETE FROM {table} AS t
WHERE t.ctid >= %(from_tid)s::tid AND t.ctid < %(to_tid)s::tid AND {due} AND NOT ({held})
