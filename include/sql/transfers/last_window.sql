-- Where the captures have reached: the end of the newest window (null before the first).
SELECT max(captured_to) FROM governance.transfer_windows
