SELECT DISTINCT bucket FROM governance.report_index ORDER BY bucket
