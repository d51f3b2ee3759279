-- The first offending rows a view lists (for checks that count the rows of a view of what must
-- not be there): their keys and the SHA-256 of their value.
SELECT {columns} FROM {view} ORDER BY {order} LIMIT {limit}
