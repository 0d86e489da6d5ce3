"""Looks for secrets and powers: the environment, the initial environment block, other processes'
environments; uses root's capabilities if it has them (chown, chattr +i on a file in its folder)."""
import fcntl
import os

from _base_activations import *  # noqa: F401,F403

print("ENV", sorted(os.environ.items()))
for path in ("/proc/self/environ", f"/proc/{os.getpid()}/environ", f"/proc/{os.getppid()}/environ",
             "/proc/1/environ"):
    try:
        with open(path, "rb") as f:
            print("READ", path, f.read().replace(b"\0", b" ")[:4000])
    except Exception as e:  # noqa: BLE001
        print("DENIED", path, type(e).__name__)
with open("pinned.txt", "w") as f:
    f.write("x")
try:
    os.chown("pinned.txt", 1, 1)  # needs CAP_CHOWN
    print("CHOWN", "done")
except Exception as e:  # noqa: BLE001
    print("CHOWN", "refused", type(e).__name__)
try:
    fd = os.open("pinned.txt", os.O_RDONLY)
    fcntl.ioctl(fd, 0x40086602, (0x10).to_bytes(4, "little"))  # FS_IOC_SETFLAGS, FS_IMMUTABLE_FL
    print("IMMUTABLE", "set")
except Exception as e:  # noqa: BLE001
    print("IMMUTABLE", "refused", type(e).__name__)
