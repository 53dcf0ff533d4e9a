printf '#!/bin/sh\necho hi\n' > exec.sh
chmod 0755 exec.sh
chmod 0640 test.txt
printf 'spaced\n' > 'name with space.txt'
