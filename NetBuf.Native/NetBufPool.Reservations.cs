using System.Globalization;
using System.Text;

namespace NetBufNative;

// Reservations: buffers set aside on paper for holders that keep many at once (drivers' queues).
public sealed unsafe partial class NetBufPool
{
    /// <summary>Guards <see cref="_reservations"/> and <see cref="_reserved"/>: taken only when a holder reserves or releases.</summary>
    private readonly Lock _reservationsLock = new();
    private readonly List<NetBufPoolReservation> _reservations = [];
    private int _reserved;

    /// <summary>
    /// How many buffers the live reservations (<see cref="Reserve"/>) set aside: the sum of their
    /// <see cref="NetBufPoolReservation.Buffers"/>, at most <see cref="Capacity"/>.
    /// </summary>
    /// <remarks>Thread-safe; a snapshot.</remarks>
    public int Reserved => Volatile.Read(ref _reserved);

    /// <summary>
    /// Sets <paramref name="buffers"/> of the pool's buffers aside for <paramref name="owner"/>, a holder that keeps that
    /// many at once (a driver: its receive and transmit queues), or refuses when the buffers not yet reserved are too few.
    /// Several drivers over one pool (a forwarder's two ports, a fanout group) reserve their queues this way, so a pool
    /// that cannot fill them all is refused when the last driver is opened, with every holder named, rather than
    /// leaving one of them without buffers at run time.
    /// </summary>
    /// <param name="buffers">How many buffers, 1 or more.</param>
    /// <param name="owner">Who holds them, for messages: e.g. "the AF_PACKET driver of eth0 (receive queue 256, transmit queue 256)".</param>
    /// <returns>The reservation; dispose it to release the buffers (a driver does when it is disposed).</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="buffers"/> is less than 1.</exception>
    /// <exception cref="ArgumentException"><paramref name="owner"/> is null or empty.</exception>
    /// <exception cref="ObjectDisposedException">The pool is disposed.</exception>
    /// <exception cref="InvalidOperationException"><see cref="Reserved"/> + <paramref name="buffers"/> would exceed
    /// <see cref="Capacity"/>: the message names each holder and how many it reserved, and the capacity the pool would need.</exception>
    /// <remarks>
    /// <para>
    /// A reservation is bookkeeping only: it takes no buffer from the free list and does not stop anyone from allocating,
    /// so buffers allocated freely (frames in flight in the application) still compete with the reserved ones; size the
    /// pool for both. It lasts until it is disposed: a holder abandoned without being disposed keeps its buffers reserved.
    /// </para>
    /// <para>Thread-safe: reservations that race are checked one after the other, so together they never exceed the capacity.</para>
    /// </remarks>
    public NetBufPoolReservation Reserve(int buffers, string owner)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(buffers, 1);
        ArgumentException.ThrowIfNullOrEmpty(owner);
        if (IsDisposed)
        {
            ThrowDisposed();
        }

        lock (_reservationsLock)
        {
            // In long: a count near int.MaxValue asked of a pool with reservations must not wrap.
            if ((long)_reserved + buffers > _capacity)
            {
                throw new InvalidOperationException(DescribeShortfall(buffers, owner));
            }

            var reservation = new NetBufPoolReservation(this, buffers, owner);
            _reservations.Add(reservation);
            Volatile.Write(ref _reserved, _reserved + buffers);
            return reservation;
        }
    }

    /// <summary>Releases <paramref name="reservation"/> (once: its own dispose decides that).</summary>
    internal void Release(NetBufPoolReservation reservation)
    {
        lock (_reservationsLock)
        {
            if (_reservations.Remove(reservation))
            {
                Volatile.Write(ref _reserved, _reserved - reservation.Buffers);
            }
        }
    }

    /// <summary>The message of a reservation refused: who holds what, what is left, and what to change. Under the lock.</summary>
    private string DescribeShortfall(int buffers, string owner)
    {
        var text = new StringBuilder();
        CultureInfo culture = CultureInfo.InvariantCulture;
        text.Append(culture, $"{_name} cannot reserve {buffers} buffers for {owner}: of its {_capacity} buffers, ");
        if (_reservations.Count == 0)
        {
            text.Append("none is reserved yet");
        }
        else
        {
            text.Append(culture, $"{_reserved} are reserved (");
            for (int i = 0; i < _reservations.Count; i++)
            {
                text.Append(i == 0 ? string.Empty : "; ").Append(culture, $"{_reservations[i].Buffers} by {_reservations[i].Owner}");
            }

            text.Append(culture, $"), so {_capacity - _reserved} are left");
        }

        long needed = (long)_reserved + buffers;
        text.Append(culture, $". Create the pool with at least {needed} buffers, or reserve fewer (a driver reserves its receive plus transmit queue sizes: give the drivers smaller queues).");
        return text.ToString();
    }
}
