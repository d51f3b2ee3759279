INSERT INTO governance.transfer_daily
    (window_id, day, recipient, registered, source_table, countries, data_categories, records,
     records_without_basis, subject_sketch)
VALUES (%(window_id)s, %(day)s, %(recipient)s, %(registered)s, %(source_table)s, %(countries)s,
        %(data_categories)s, %(records)s, %(records_without_basis)s, %(subject_sketch)s)
