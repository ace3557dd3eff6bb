"""What every platform adapter needs the same way: safe file names and folders, keeping tokens out of logs."""
