#!/usr/bin/env python3
# make_gpt.py IMAGE NAME: writes a GPT to IMAGE (an existing sparse file)
# with one Linux-filesystem partition named NAME from 1 MiB to the end.
# For tests on machines without sfdisk or sgdisk.
import struct, sys, uuid, zlib

path, name = sys.argv[1], sys.argv[2]
sector = 512
with open(path, "r+b") as disk:
    disk.seek(0, 2)
    sectors = disk.tell() // sector
    last = sectors - 1
    entries_sectors = 32  # 128 entries x 128 bytes

    def entries():
        linux = uuid.UUID("0FC63DAF-8483-4772-8E79-3D69D8477DE4").bytes_le
        first, end = 2048, last - 34
        entry = struct.pack("<16s16sQQQ72s", linux, uuid.uuid4().bytes_le, first, end, 0,
                            name.encode("utf-16-le"))
        return entry + bytes(128 * 127)

    table = entries()
    disk_guid = uuid.uuid4().bytes_le

    def header(current, backup, entries_lba):
        fields = lambda crc: struct.pack("<8sIIIIQQQQ16sQIII", b"EFI PART", 0x00010000, 92, crc, 0,
                                         current, backup, 34, last - 33, disk_guid, entries_lba,
                                         128, 128, zlib.crc32(table))
        return fields(zlib.crc32(fields(0))).ljust(sector, b"\0")

    mbr = bytearray(sector)
    mbr[446:462] = struct.pack("<B3sB3sII", 0, b"\x00\x02\x00", 0xEE, b"\xff\xff\xff", 1,
                               min(sectors - 1, 0xFFFFFFFF))
    mbr[510:512] = b"\x55\xaa"
    disk.seek(0); disk.write(bytes(mbr))
    disk.seek(sector); disk.write(header(1, last, 2))
    disk.seek(2 * sector); disk.write(table)
    disk.seek((last - entries_sectors) * sector); disk.write(table)
    disk.seek(last * sector); disk.write(header(last, 1, last - entries_sectors))
