-- One month of a partitioned reference table: the rows whose clock is in [lower, upper), the
-- bounds being the first instants of two consecutive months in UTC. DDL takes no bind
-- parameters, so the bounds are literals (psycopg.sql.Literal) that the seeder computes from
-- its own data, never input.
CREATE TABLE {partition} PARTITION OF {parent} FOR VALUES FROM ({lower}) TO ({upper})
