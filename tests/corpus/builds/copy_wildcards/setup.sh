echo 'arr[0]' > 'arr[0].txt'
