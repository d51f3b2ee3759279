-- Which of these archived rows are still in their table (a hold kept them, or the object is not yet
-- complete): the export shows those from the table only, once.
SELECT {key} FROM {schema}.{table} WHERE {key} = ANY(%(keys)s)
