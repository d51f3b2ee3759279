-- One capture at a time: a second one waits here, then starts from where the first one ended.
LOCK TABLE governance.transfer_windows IN SHARE ROW EXCLUSIVE MODE
