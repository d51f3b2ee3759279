-- The tables whose shape the seeder changes, dropped so they can be made again in the other
-- shape (their partitions go with them). No CASCADE: should anything depend on them (a view, a
-- foreign key of the deployment's own), the seed fails and rolls back instead of dropping it.
DROP TABLE IF EXISTS {tables}
