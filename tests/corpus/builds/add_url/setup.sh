mkdir -p srv
printf 'payload over http\n' > srv/payload.bin
mkdir -p tt/d && echo in-tar > tt/d/f && tar -C tt -czf srv/t.tar.gz d && rm -r tt
sum=$(sha256sum srv/payload.bin | cut -d' ' -f1)
sed -i "s/sha256:[0-9a-f]*/sha256:$sum/" Dockerfile
