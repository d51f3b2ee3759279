-- Whether the person exists, the country of the account (which law's deadline applies), and its
-- email (of which only a keyed hash is kept, to recognise a second submission of the request).
SELECT {country}, {email} FROM {schema}.{table} WHERE {key} = %(subject)s
