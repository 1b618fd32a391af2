namespace NetBufNative.Bench.Drivers;

/// <summary>One measured row of one round of the versus mode.</summary>
/// <param name="App"><c>responder</c>, <c>forward</c> or <c>macswap</c>.</param>
/// <param name="Driver"><c>afpacket</c>, <c>xdp</c> or <c>tap</c>.</param>
/// <param name="Load"><c>flood</c> (trafgen) or <c>closed</c> (the pinger).</param>
/// <param name="Frame">The frame length in bytes (without the FCS).</param>
/// <param name="Candidate"><c>busy-poll</c> or <c>adaptive</c> (ours) or <c>testpmd</c>.</param>
/// <param name="Round">The round, from 1.</param>
/// <param name="Offered">Frames (or, closed loop, echo requests) per second offered.</param>
/// <param name="Passed">Frames answered, forwarded or reflected per second (closed loop: echo replies per second at the pinger).</param>
/// <param name="Drops">Drops by cause over the window, as text (ours: the loop's and the sockets' counters; testpmd's port counters).</param>
/// <param name="LinkDrops">The interfaces' rx_dropped/tx_dropped that moved over the window, as text.</param>
/// <param name="BytesPerFrame">GC bytes per frame the loop sent, on the loop's thread (ours); null for testpmd.</param>
internal sealed record VersusSample(
    string App,
    string Driver,
    string Load,
    int Frame,
    string Candidate,
    int Round,
    double Offered,
    double Passed,
    string Drops,
    string LinkDrops,
    double? BytesPerFrame)
{
    /// <summary>The share of the offered load that was handled.</summary>
    public double Share => Offered > 0 ? Passed / Offered : double.NaN;
}
