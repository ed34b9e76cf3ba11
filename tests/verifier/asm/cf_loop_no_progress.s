# A loop whose state never changes.
# type: socket
# expect: reject infinite loop detected
    mov %r0, 0
l:
    jeq %r0, 0, l
    exit
