chmod 0700 dir/sub
chmod 0600 dir/sub/deep.txt
