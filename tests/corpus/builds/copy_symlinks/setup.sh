ln -s target.txt dir/rel-link
ln -s / dir/root
ln -s /etc/shadow dir/abs-link
ln -s ../../../../../../etc dir/up-link
ln -s missing dir/dangling
