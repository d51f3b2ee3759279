SELECT count(*) FILTER (WHERE missing_since IS NOT NULL), count(*) FROM governance.report_index
