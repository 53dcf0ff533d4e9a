mkdir -p tree/sub config
echo 'echo s' > script.sh && chmod 0644 script.sh
echo plain > tree/plain.txt && chmod 0600 tree/plain.txt
echo 'echo t' > tree/sub/tool.sh && chmod 0700 tree/sub/tool.sh
chmod 0700 tree/sub
echo c > config/app.conf && chmod 0640 config/app.conf
echo p > private.txt && chmod 0644 private.txt
