using System.Buffers.Binary;
using Vessel.Machine.Display;
using Vessel.Machine.Virtio.Queues;
using static Vessel.Machine.Virtio.Gpu.VirtioGpuProtocol;

namespace Vessel.Machine.Virtio.Gpu;

/// <summary>The control and cursor commands, each checked as QEMU checks it.</summary>
public sealed partial class VirtioGpuDevice
{
    /// <summary>Serves one control request; returns the bytes written into its response.</summary>
    private uint HandleControl(DescriptorChain chain)
    {
        Span<byte> request = _request;
        int length = chain.CopyFromReadable(0, request);
        Span<byte> response = _response;
        response[..HeaderSize].Clear();
        int responseLength = HeaderSize;
        uint result;
        if (length < HeaderSize)
        {
            result = RespErrUnspecified;
        }
        else
        {
            uint type = BinaryPrimitives.ReadUInt32LittleEndian(request);
            result = type switch
            {
                CmdGetDisplayInfo => GetDisplayInfo(response, ref responseLength),
                CmdResourceCreate2D => Require(length, ResourceCreate2DSize) ?? ResourceCreate2D(request),
                CmdResourceUnref => Require(length, ResourceUnrefSize) ?? ResourceUnref(request),
                CmdSetScanout => Require(length, SetScanoutSize) ?? SetScanout(request),
                CmdResourceFlush => Require(length, ResourceFlushSize) ?? ResourceFlush(request),
                CmdTransferToHost2D => Require(length, TransferToHost2DSize) ?? TransferToHost2D(request),
                CmdResourceAttachBacking => Require(length, AttachBackingSize) ?? AttachBacking(chain, request),
                CmdResourceDetachBacking => Require(length, DetachBackingSize) ?? DetachBacking(request),
                CmdGetEdid => Require(length, GetEdidSize) ?? GetEdid(request, response, ref responseLength),
                _ => RespErrUnspecified, // 3D, blob and UUID commands: features this device does not offer
            };

            uint flags = BinaryPrimitives.ReadUInt32LittleEndian(request[4..]);
            if ((flags & FlagFence) != 0)
            {
                // Commands complete in order before the response is pushed, so the fence is done.
                BinaryPrimitives.WriteUInt32LittleEndian(response[4..], FlagFence);
                request.Slice(8, 12).CopyTo(response[8..]); // fence_id and ctx_id
            }
        }

        BinaryPrimitives.WriteUInt32LittleEndian(response, result);
        if (result >= RespErrUnspecified)
        {
            responseLength = HeaderSize;
        }

        return (uint)chain.CopyToWritable(0, response[..responseLength]);
    }

    private static uint? Require(int length, int size) => length < size ? RespErrUnspecified : null;

    private uint GetDisplayInfo(Span<byte> response, ref int responseLength)
    {
        responseLength = DisplayInfoSize;
        response[HeaderSize..DisplayInfoSize].Clear();
        lock (ConfigLock)
        {
            // pmodes[0]: rect (x, y, width, height), enabled, flags.
            BinaryPrimitives.WriteUInt32LittleEndian(response[(HeaderSize + 8)..], (uint)_requestedWidth);
            BinaryPrimitives.WriteUInt32LittleEndian(response[(HeaderSize + 12)..], (uint)_requestedHeight);
            BinaryPrimitives.WriteUInt32LittleEndian(response[(HeaderSize + 16)..], 1);
        }

        return RespOkDisplayInfo;
    }

    private uint GetEdid(ReadOnlySpan<byte> request, Span<byte> response, ref int responseLength)
    {
        if ((NegotiatedFeatures & FeatureEdid) == 0)
        {
            return RespErrUnspecified;
        }

        if (BinaryPrimitives.ReadUInt32LittleEndian(request[HeaderSize..]) >= ScanoutCount)
        {
            return RespErrInvalidParameter;
        }

        responseLength = EdidResponseSize;
        response[HeaderSize..EdidResponseSize].Clear();
        lock (ConfigLock)
        {
            BinaryPrimitives.WriteUInt32LittleEndian(response[HeaderSize..], (uint)_edid.Length);
            _edid.CopyTo(response[(HeaderSize + 8)..]);
        }

        return RespOkEdid;
    }

    private uint ResourceCreate2D(ReadOnlySpan<byte> request)
    {
        uint id = ReadU32(request, 0), format = ReadU32(request, 4), width = ReadU32(request, 8), height = ReadU32(request, 12);
        if (id == 0 || _resources.ContainsKey(id))
        {
            return RespErrInvalidResourceId;
        }

        if (ToPixelFormat(format) is not { } pixelFormat || width == 0 || height == 0)
        {
            return RespErrInvalidParameter;
        }

        // Checked before anything is allocated: a guest may not make the host allocate more
        // than the budget, however large the size it asks for.
        if (width > int.MaxValue / 4 || height > int.MaxValue
            || GpuResource.HostBytesFor((int)width, (int)height) > _options.MaxHostMemory - _hostMemory)
        {
            return RespErrOutOfMemory;
        }

        var resource = new GpuResource(id, format, pixelFormat, (int)width, (int)height);
        _resources.Add(id, resource);
        _hostMemory += resource.HostBytes;
        return RespOkNoData;
    }

    private uint ResourceUnref(ReadOnlySpan<byte> request)
    {
        uint id = ReadU32(request, 0);
        if (!_resources.Remove(id, out GpuResource? resource))
        {
            return RespErrInvalidResourceId;
        }

        _hostMemory -= resource.HostBytes;
        if (_scanout.ResourceId == id)
        {
            // As QEMU: the scanout that showed it goes dark rather than show freed memory.
            _scanout = new GpuScanoutState(0, 0, 0, 0, 0);
            _console.Deactivate();
        }

        return RespOkNoData;
    }

    private uint SetScanout(ReadOnlySpan<byte> request)
    {
        uint x = ReadU32(request, 0), y = ReadU32(request, 4), width = ReadU32(request, 8), height = ReadU32(request, 12);
        uint scanoutId = ReadU32(request, 16), id = ReadU32(request, 20);
        if (scanoutId >= ScanoutCount)
        {
            return RespErrInvalidScanoutId;
        }

        if (id == 0)
        {
            _scanout = new GpuScanoutState(0, 0, 0, 0, 0);
            _console.Deactivate();
            return RespOkNoData;
        }

        if (!_resources.TryGetValue(id, out GpuResource? resource))
        {
            return RespErrInvalidResourceId;
        }

        if (width < VirtioGpuOptions.MinDimension || height < VirtioGpuOptions.MinDimension
            || width > DisplayConsole.MaxDimension || height > DisplayConsole.MaxDimension || !resource.Contains(x, y, width, height))
        {
            return RespErrInvalidParameter;
        }

        ShowScanout(new GpuScanoutState(id, (int)x, (int)y, (int)width, (int)height));
        return RespOkNoData;
    }

    /// <summary>Points the scanout at a resource rectangle and shows that rectangle's current pixels, as QEMU switches its surface.</summary>
    private void ShowScanout(GpuScanoutState scanout)
    {
        if (scanout.ResourceId == 0 || !_resources.TryGetValue(scanout.ResourceId, out GpuResource? resource))
        {
            _scanout = new GpuScanoutState(0, 0, 0, 0, 0);
            _console.Deactivate();
            return;
        }

        _scanout = scanout;
        _console.Resize(scanout.Width, scanout.Height);
        _console.Update(0, 0, scanout.Width, scanout.Height, resource.Pixels.AsSpan((scanout.Y * resource.Stride) + (scanout.X * BytesPerPixel)), resource.Stride, resource.PixelFormat);
    }

    private uint ResourceFlush(ReadOnlySpan<byte> request)
    {
        uint x = ReadU32(request, 0), y = ReadU32(request, 4), width = ReadU32(request, 8), height = ReadU32(request, 12);
        uint id = ReadU32(request, 16);
        if (!_resources.TryGetValue(id, out GpuResource? resource))
        {
            return RespErrInvalidResourceId;
        }

        if (!resource.Contains(x, y, width, height))
        {
            return RespErrInvalidParameter;
        }

        GpuScanoutState scanout = _scanout;
        if (scanout.ResourceId != id)
        {
            return RespOkNoData;
        }

        // Only the part of the flushed rectangle the scanout shows reaches the console.
        int left = Math.Max((int)x, scanout.X), top = Math.Max((int)y, scanout.Y);
        int right = (int)Math.Min(x + width, (uint)(scanout.X + scanout.Width)), bottom = (int)Math.Min(y + height, (uint)(scanout.Y + scanout.Height));
        if (left < right && top < bottom)
        {
            _console.Update(left - scanout.X, top - scanout.Y, right - left, bottom - top, resource.Pixels.AsSpan((top * resource.Stride) + (left * BytesPerPixel)), resource.Stride, resource.PixelFormat);
        }

        return RespOkNoData;
    }

    private uint TransferToHost2D(ReadOnlySpan<byte> request)
    {
        uint x = ReadU32(request, 0), y = ReadU32(request, 4), width = ReadU32(request, 8), height = ReadU32(request, 12);
        ulong offset = BinaryPrimitives.ReadUInt64LittleEndian(request[(HeaderSize + 16)..]);
        uint id = ReadU32(request, 24);
        if (!_resources.TryGetValue(id, out GpuResource? resource) || resource.Backing is null)
        {
            return RespErrInvalidResourceId;
        }

        if (!resource.Contains(x, y, width, height))
        {
            return RespErrInvalidParameter;
        }

        int stride = resource.Stride;
        if (offset == 0 && x == 0 && y == 0 && width == (uint)resource.Width)
        {
            resource.CopyFromBacking(Memory, 0, resource.Pixels.AsSpan(0, (int)height * stride));
            return RespOkNoData;
        }

        // Row by row: each row of the rectangle starts a whole resource row further in the backing.
        int rowBytes = (int)width * BytesPerPixel;
        for (int row = 0; row < height; row++)
        {
            ulong source = offset + ((ulong)row * (ulong)stride);
            if (source < offset)
            {
                break; // past the end of any backing
            }

            resource.CopyFromBacking(Memory, source, resource.Pixels.AsSpan((((int)y + row) * stride) + ((int)x * BytesPerPixel), rowBytes));
        }

        return RespOkNoData;
    }

    private uint AttachBacking(DescriptorChain chain, ReadOnlySpan<byte> request)
    {
        uint id = ReadU32(request, 0), count = ReadU32(request, 4);
        if (!_resources.TryGetValue(id, out GpuResource? resource))
        {
            return RespErrInvalidResourceId;
        }

        if (resource.Backing is not null || count > MaxBackingEntries
            || chain.ReadableLength < AttachBackingSize + ((long)count * MemoryEntrySize)
            || count * 24L > _options.MaxHostMemory - _hostMemory)
        {
            return RespErrUnspecified;
        }

        var entries = new GpuBackingEntry[count];
        Span<byte> entry = stackalloc byte[MemoryEntrySize];
        for (int i = 0; i < entries.Length; i++)
        {
            chain.CopyFromReadable(AttachBackingSize + ((long)i * MemoryEntrySize), entry);
            ulong address = BinaryPrimitives.ReadUInt64LittleEndian(entry);
            uint length = BinaryPrimitives.ReadUInt32LittleEndian(entry[8..]);
            if (!Memory.Contains(address, length))
            {
                return RespErrUnspecified;
            }

            entries[i] = new GpuBackingEntry(address, length);
        }

        _hostMemory -= resource.HostBytes;
        resource.AttachBacking(entries);
        _hostMemory += resource.HostBytes;
        return RespOkNoData;
    }

    private uint DetachBacking(ReadOnlySpan<byte> request)
    {
        uint id = ReadU32(request, 0);
        if (!_resources.TryGetValue(id, out GpuResource? resource) || resource.Backing is null)
        {
            return RespErrInvalidResourceId;
        }

        _hostMemory -= resource.HostBytes;
        resource.DetachBacking();
        _hostMemory += resource.HostBytes;
        return RespOkNoData;
    }

    /// <summary>Serves one cursor request: nothing is written back, as on QEMU.</summary>
    private uint HandleCursor(DescriptorChain chain)
    {
        Span<byte> request = _request;
        if (chain.CopyFromReadable(0, request) < UpdateCursorSize)
        {
            return 0;
        }

        uint type = BinaryPrimitives.ReadUInt32LittleEndian(request);
        uint scanoutId = ReadU32(request, 0);
        int x = (int)ReadU32(request, 4), y = (int)ReadU32(request, 8);
        if (scanoutId >= ScanoutCount || (type != CmdUpdateCursor && type != CmdMoveCursor))
        {
            return 0;
        }

        _cursorX = x;
        _cursorY = y;
        if (type == CmdMoveCursor)
        {
            return 0;
        }

        _cursorResource = ReadU32(request, 16);
        _cursorHotX = (int)ReadU32(request, 20);
        _cursorHotY = (int)ReadU32(request, 24);
        UpdateCursorImage(_cursorResource, _cursorHotX, _cursorHotY);
        return 0;
    }

    /// <summary>Copies a 64×64 resource into the console's cursor (resource 0 hides it; another size is ignored, as QEMU does).</summary>
    private void UpdateCursorImage(uint id, int hotX, int hotY)
    {
        if (id == 0)
        {
            _console.DefineCursor(null);
            return;
        }

        if (!_resources.TryGetValue(id, out GpuResource? resource) || resource.Width != CursorSize || resource.Height != CursorSize)
        {
            return;
        }

        var argb = new uint[CursorSize * CursorSize];
        ReadOnlySpan<byte> pixels = resource.Pixels;
        for (int i = 0; i < argb.Length; i++)
        {
            ReadOnlySpan<byte> p = pixels.Slice(i * BytesPerPixel, BytesPerPixel);
            (byte r, byte g, byte b, byte a) = resource.PixelFormat switch
            {
                SourcePixelFormat.Bgrx => (p[2], p[1], p[0], p[3]),
                SourcePixelFormat.Xrgb => (p[1], p[2], p[3], p[0]),
                SourcePixelFormat.Rgbx => (p[0], p[1], p[2], p[3]),
                _ => (p[3], p[2], p[1], p[0]),
            };
            argb[i] = ((uint)a << 24) | ((uint)r << 16) | ((uint)g << 8) | b;
        }

        _console.DefineCursor(new CursorShape(CursorSize, CursorSize, Math.Clamp(hotX, 0, CursorSize - 1), Math.Clamp(hotY, 0, CursorSize - 1), argb));
    }

    /// <summary>A 32-bit field <paramref name="offset"/> bytes after the control header.</summary>
    private static uint ReadU32(ReadOnlySpan<byte> request, int offset) => BinaryPrimitives.ReadUInt32LittleEndian(request[(HeaderSize + offset)..]);
}
