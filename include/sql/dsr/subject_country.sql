-- Whether the person exists, and the country of the account (which law's deadline applies).
SELECT {country} FROM {schema}.{table} WHERE {key} = %(subject)s
