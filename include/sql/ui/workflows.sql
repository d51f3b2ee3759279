SELECT DISTINCT workflow FROM governance.report_index ORDER BY workflow
