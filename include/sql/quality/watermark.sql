SELECT high_key FROM governance.dq_watermarks WHERE suite = %(suite)s AND table_name = %(table_name)s
