-- Fragment: the `where` filter of a rule or a cascade step (column = value).
t.{column} = %(where_value)s
