import PeregrineBook
import PeregrineEngine
import PeregrineModel
import PeregrineStrategy

#if canImport(Glibc)
    import Glibc
#endif

extension Backtest {
    /// Runs the plan with the built-in strategies.
    public static func run(
        _ plan: BacktestPlan, outputs: BacktestOutputFiles = BacktestOutputFiles(),
        progress: ((Double) -> Void)? = nil, stopRequested: (() -> String?)? = nil
    ) throws(BacktestError) -> BacktestResult {
        try run(plan, custom: IdleStrategy.self, outputs: outputs, progress: progress, stopRequested: stopRequested)
    }
}

/// Runs backtests: the engine's own logic (strategies, order management, risk) against the
/// simulated venue, on the recorded data's time.
///
/// The run is a discrete-event simulation on exchange time with four queues: the recorded
/// events (merged by exchange time), their delivery to the strategies (after the feed
/// latency), orders on their way to the venue (after the entry latency) and reports on their
/// way back (after the response latency). The earliest item goes first; at equal times,
/// whatever is already in flight goes before the next recorded event, in the order it was
/// queued (so without latency an order meets the book of the event that caused it, before the
/// next one applies). The book changes of one message (consecutive level updates and clear-book
/// events of one instrument with the same exchange and receive times) reach the strategies as
/// one: the books take every change, the strategies are called after the last; at the venue a
/// message is one step (its changes go before anything in flight, once its first has gone). A
/// strategy timer due before the next item fires at its deadline. At the end the session ends
/// as in live runs: strategies stop and their open orders are cancelled.
public enum Backtest {
    /// Runs the plan with `Custom` strategies besides the built-in ones. `progress` gets the
    /// share of the data read, and `stopRequested` is asked whether to stop (naming why: SIGINT,
    /// say), every 65,536 events; a stop throws (`data`) and leaves no output, as a failure.
    public static func run<Custom: Strategy>(
        _ plan: BacktestPlan, custom: Custom.Type, outputs files: BacktestOutputFiles = BacktestOutputFiles(),
        progress: ((Double) -> Void)? = nil, stopRequested: (() -> String?)? = nil
    ) throws(BacktestError) -> BacktestResult {
        let started = ContinuousClock.now
        // The data opens first: a file that cannot be read leaves no CSV behind. Converted
        // files are read on this thread (checking and decoding a record costs less than handing
        // it to another thread); text is parsed on a second one unless the plan says otherwise.
        let stream = try plan.openData()
        if plan.settings.parseOnSecondThread, plan.files.contains(where: { $0.format != nil }) {
            return try simulate(
                plan, custom: custom, data: try MarketDataThread(stream, until: plan.settings.to), outputs: files,
                progress: progress, stopRequested: stopRequested, started: started)
        }
        return try simulate(
            plan, custom: custom, data: stream, outputs: files, progress: progress, stopRequested: stopRequested,
            started: started)
    }

    static func simulate<Custom: Strategy, Data: MarketDataSource>(
        _ plan: BacktestPlan, custom: Custom.Type, data: Data, outputs files: BacktestOutputFiles,
        progress: ((Double) -> Void)?, stopRequested: (() -> String?)?, started: ContinuousClock.Instant
    ) throws(BacktestError) -> BacktestResult {
        let settings = plan.settings
        guard let capital = ExactAmount(settings.capital) else {
            throw .usage("--capital \(settings.capital) is not a decimal amount")
        }
        var logic: EngineLogic<Custom>
        do { logic = try EngineLogic(configuration: plan.configuration, custom: custom) } catch {
            throw .usage("\(error)")
        }
        // Without feed latency the logic sees each event right after the venue: they share
        // one book per instrument, which the venue updates (each level update is applied once).
        // The logic outlives every use of the venue's books (both live to the end of the loop).
        let sharing = settings.feedLatency == .none && settings.shareBooks
        var venue: SimulatedVenue
        do {
            venue = try SimulatedVenue(
                instruments: plan.instruments.count, queueModel: settings.queueModel,
                quoteBooks: plan.configuration.quoteBooks, lotSizes: plan.instruments.map(\.lotSize),
                sharing: sharing ? logic.sharedMarketDataBooks : nil)
        } catch {
            throw .usage("\(error)")
        }
        logic.appliesMarketData = !(sharing && venue.sharesBooks)
        let ids = plan.configuration.strategies.resolvedIDs
        var names: [UInt16: String] = [:]
        for (index, spec) in plan.configuration.strategies.enumerated() { names[ids[index]] = spec.name }
        try OutputFile.check(
            [("fills CSV", files.fillsCSV), ("equity CSV", files.equityCSV)], inputs: plan.inputPaths)
        let recorder = try BacktestRecorder(
            instruments: plan.instruments, strategyNames: names, capital: capital,
            interval: settings.equityInterval, fillsPath: files.fillsCSV, equityPath: files.equityCSV,
            charts: files.charts)
        // Any failure from here on removes the CSVs (regular files only: not a device, a pipe
        // or a link's name): no output claims a finished run.
        var finished = false
        defer {
            if !finished {
                // Closed first, so that no buffered row is written after the truncation.
                recorder.closeFiles()
                for path in [files.fillsCSV, files.equityCSV].compactMap({ $0 }) { OutputFile.discard(path) }
            }
        }
        let clock = QueueClock()
        var outputs = BacktestOutputs(latency: settings.orderLatency, clock: clock, recorder: recorder)
        var reports = ReportQueue(latency: settings.orderLatency, clock: clock)
        let deliveries = EarliestFirstQueue<(event: Event, notify: Bool, begun: Bool, applied: Bool)>()
        /// Deliveries queued whose event the logic has not applied yet (`applied` false), in all
        /// and by feed (`feed(of:)`). While none of its feed is, an event delivered now may be
        /// applied at once: its feed's changes stay in order (those queued applied are the
        /// changes of the message going now, held back behind the fills its first changes made;
        /// another feed's, a trade received late, say, are due later).
        var unappliedDeliveries = 0
        var unappliedByFeed = [Int](repeating: 0, count: plan.instruments.count &* 2 &+ 2)
        /// With `--feed-latency local`, each feed's latest delivery time: an instrument's book
        /// changes are one feed and its trades another (as recorded, in files of their own), so
        /// each is delivered in its own order at its receive times, and a row received late
        /// holds back only the rows of its own feed (`feed(of:)`).
        var feedDeliveredAt = [UInt64](repeating: 0, count: plan.instruments.count &* 2 &+ 2)
        var sequence: Int64 = 0
        var events = 0
        var warmUp = 0
        var logicTime: UInt64 = 0
        var lastTime: UInt64 = 0
        // The recorded event going now and the one after it (`pending`, when `hasPending`):
        // two slots read into in place and swapped, so that events are not copied around.
        let slots = UnsafeMutablePointer<MarketDataEvent>.allocate(capacity: 2)
        defer { slots.deallocate() }
        var current = slots
        var pending = slots + 1
        var hasPending = Self.read(data, into: pending)
        var sessionEnded = false
        /// Whether a change of the message going now may have moved the touch.
        var topMayHaveMoved = false
        /// The event just recorded (after `from`) is not its message's last: `pending`
        /// continues the message.
        var messageGoesOn = false
        var straightChanges = 0
        /// The only input, a converted file whose instrument ids are the backtest's, when the
        /// changes in the middle of a message may go straight from its records: the venue
        /// shares its books with the logic, which has nothing to do for a level update it is
        /// not told of. (Unmanaged: `data` keeps the file's stream, and taking a reference to it
        /// on every message cost an atomic increment and decrement.)
        let straightFile: (stream: Unmanaged<DataFileStream>, records: EventFileRecords)? =
            if sharing, venue.sharesBooks, !logic.warmsUpLevelUpdates, let stream = data as? MarketDataStream,
                let records = stream.direct, !stream.first.takeUnretainedValue().remapsInstruments
            {
                (stream.first, records)
            } else {
                nil
            }

        /// Whether the touch of the books built before `from` went to the recorder, and when
        /// each instrument's book last changed before it.
        var warmBooksMarked = settings.from == nil
        var warmBookTimes = [UInt64](repeating: 0, count: settings.from == nil ? 0 : plan.instruments.count)
        func markWarmBooks() {
            for index in plan.instruments.indices {
                let top = venue.bestBidOffer(InstrumentID(UInt32(truncatingIfNeeded: index)))
                guard top.bid != nil || top.ask != nil else { continue }
                recorder.mark(index, top)
                recorder.backdate(index, bookAt: warmBookTimes[index])
            }
        }

        /// Sets the logic's time to `time`, the delivery time of `event` (its timestamp).
        func arrive(_ event: inout Event, at time: UInt64) {
            event.timestamp = time
            outputs.now = time
            logicTime = time
        }

        /// Hands `event` to the logic at `time`; `begun`: `logic.beginEvent` has run for it;
        /// `applied`: `logic.warmUp` has applied it to the logic's books.
        func deliver(
            _ event: inout Event, at time: UInt64, notify: Bool = true, begun: Bool = false, applied: Bool = false
        ) {
            arrive(&event, at: time)
            if notify {
                logic.handle(event, sequence: sequence, outputs: &outputs, begun: begun, applied: applied)
            } else if !applied {
                // A message's first change: what the logic has to do before the message runs on
                // the books without any of it.
                if !begun, logic.hasWorkBeforeEvent(at: time) {
                    logic.beginEvent(event, sequence: sequence, outputs: &outputs)
                }
                logic.warmUp(event)
            }
            sequence &+= 1
        }

        /// A stop asked for (SIGINT, SIGTERM): the data ends where it was seen.
        var stoppedBy: String?
        /// Every 65,536 events: the progress, and whether a stop was asked for (the recorded
        /// data then ends here: what is in flight is handled, the session ends, and the run
        /// throws).
        func checkpoint() {
            progress?(data.progress)
            if let stopRequested, let reason = stopRequested() {
                stoppedBy = reason
                hasPending = false
            }
        }

        /// The next recorded event goes (to `current`, and `pending` is read): to the venue,
        /// then to the logic (now, or after the feed latency).
        func recordNext() {
            swap(&current, &pending)
            hasPending = Self.read(data, into: pending)
            let item = current.pointee
            let time = item.time
            if let from = settings.from, time < from {
                reports.sentAt = time
                venue.apply(item.event, time: time, sink: &reports)
                logic.warmUp(item.event)
                warmUp &+= 1
                let index = Int(item.event.instrument.rawValue)
                if index < warmBookTimes.count, Self.movesBook(item.event.payload) { warmBookTimes[index] = time }
                messageGoesOn = false
                return
            }
            recorder.advance(to: time)
            if !warmBooksMarked {
                // The books the events before `from` built: their touch is where the recorder
                // starts (the last mid an open position is marked at, until the book moves).
                warmBooksMarked = true
                if warmUp > 0 { markWarmBooks() }
            }
            lastTime = Swift.max(lastTime, time)
            // The book changes of one message (one instrument, the same times) reach the
            // strategies as one: they see the book after its last change, never mid-message.
            let notify = !hasPending || !Self.continuesMessage(item.event, pending)
            messageGoesOn = !notify
            // With shared books the venue applies the event to the strategies' books, so what
            // the logic has to do before the event (the start, timers due, overdue answers)
            // runs first and sees the books without it, as with books of their own; what it
            // sends is queued after the venue's reports, as then. (Shared books mean no feed
            // latency: the event is delivered at `time`, right after the venue.) For a message,
            // that is before its first change: none is applied yet.
            let begun = sharing && unappliedDeliveries == 0 && logic.hasWorkBeforeEvent(at: time)
            if begun {
                var event = item.event
                arrive(&event, at: time)
                outputs.deferring = true
                logic.beginEvent(event, sequence: sequence, outputs: &outputs)
                outputs.deferring = false
            }
            reports.sentAt = time
            venue.apply(item.event, time: time, sink: &reports)
            // Stops the message reached enter at its end, as one step with it.
            if notify, venue.hasStops { venue.settleStops(after: item.event, time: time, sink: &reports) }
            if begun { outputs.sendDeferred() }
            // The recorder sees the touch at the end of a message that may have moved it (one
            // of its changes at or inside the touch it saw last).
            let index = Int(item.event.instrument.rawValue)
            if index < plan.instruments.count {
                topMayHaveMoved = topMayHaveMoved || recorder.mayMoveTop(index, item.event)
                if notify, topMayHaveMoved {
                    recorder.mark(index, venue.bestBidOffer(item.event.instrument))
                    topMayHaveMoved = false
                }
            }
            events &+= 1
            if events & 0xFFFF == 0 { checkpoint() }
            var delivery = time
            switch settings.feedLatency {
            case .none: break
            case .local:
                let feed = Self.feed(of: item.event, instruments: plan.instruments.count)
                delivery = Swift.max(item.event.timestamp, time, feedDeliveredAt[feed])
                feedDeliveredAt[feed] = delivery
            case .constant(let nanoseconds): delivery = time &+ nanoseconds
            }
            var event = item.event
            if delivery == time, deliveries.isEmpty, reports.queue.isEmpty {
                deliver(&event, at: time, notify: notify, begun: begun)
            } else if delivery == time,
                unappliedDeliveries == 0
                    || unappliedByFeed[Self.feed(of: event, instruments: plan.instruments.count)] == 0
            {
                // The reports the venue made applying the event (fills of resting orders it
                // reached) go to the strategies before its callbacks for the event, and after
                // the event is in their books: the order of live runs (docs/strategies.md). The
                // book callback then knows its order filled (it had sent a replace of the filled
                // order, refused by the venue). What the logic has to do before the event (timers
                // due, overdue answers) runs first, on the books without it, as with shared
                // books (`begun` above); what it sends follows the venue's reports.
                var done = begun
                if !done, logic.hasWorkBeforeEvent(at: time) {
                    var early = event
                    arrive(&early, at: time)
                    logic.beginEvent(early, sequence: sequence, outputs: &outputs)
                    done = true
                }
                logic.warmUp(event)
                deliveries.push((event, notify, done, true), at: delivery, order: clock.take())
            } else {
                deliveries.push((event, notify, begun, false), at: delivery, order: clock.take())
                unappliedDeliveries &+= 1
                unappliedByFeed[Self.feed(of: event, instruments: plan.instruments.count)] &+= 1
            }
        }

        /// Whether a recorded event at `time` runs: before `--to`, when given.
        let end = settings.to
        func beforeEnd(_ time: UInt64) -> Bool {
            guard let end else { return true }
            return time < end
        }
        while true {
            // Most of the time nothing is in flight and no timer is due: the next recorded
            // event goes at once. So does the next change of a message under way, whatever is
            // in flight: a message is one step of the venue's (nothing due at its time, a fill
            // it made or an order sent on one, meets the venue or the strategies between its
            // changes), and what is in flight is due at its time or later.
            if hasPending, beforeEnd(pending.pointee.time),
                messageGoesOn
                    || (deliveries.isEmpty && outputs.orders.isEmpty && reports.queue.isEmpty
                        && !Self.timerDue(logic.nextTimerDeadline, after: logicTime, before: pending.pointee.time))
            {
                // A message's first change goes straight too when nothing is in flight and the
                // logic has nothing to do before it (`begun` would be false; the logic's `warmUp`
                // does nothing with a level update, `straightFile`): it goes to the venue and the
                // recorder as `recordNext` would send it, and the message goes on as after it.
                if !messageGoesOn, let straight = straightFile, warmBooksMarked {
                    let sent = Self.sendMessageStart(
                        pending, from: straight.stream, straight.records, instruments: plan.instruments.count,
                        logic: &logic, venue: &venue, reports: &reports, recorder: recorder,
                        topMayHaveMoved: &topMayHaveMoved)
                    if sent > 0 {
                        let time = pending.pointee.time
                        lastTime = Swift.max(lastTime, time)
                        messageGoesOn = true
                        outputs.now = time
                        logicTime = time
                        if Self.count(straight: sent, &straightChanges, &events, &sequence) { checkpoint() }
                        continue
                    }
                }
                recordNext()
                // The changes in the middle of the message (neither its first nor its last) go
                // straight from the file's records: at the message's time, before anything in
                // flight (shared books: no feed latency), and the strategies are not told of
                // them. Each goes to the venue and the recorder as `recordNext` sends it;
                // `pending` keeps the first change not sent. (Progress is reported after the
                // batch when it crossed a multiple of 65,536 events.)
                if messageGoesOn, let straight = straightFile, pending.pointee.time == current.pointee.time,
                    case .levelUpdate(var update) = pending.pointee.event.payload
                {
                    let instrument = pending.pointee.event.instrument
                    let index = Int(instrument.rawValue)
                    if index < plan.instruments.count {
                        let sent = Self.sendMessageMiddle(
                            &update, instrument: instrument, time: pending.pointee.time,
                            timestamp: pending.pointee.event.timestamp,
                            exchangeTimestamp: pending.pointee.event.exchangeTimestamp, from: straight.stream,
                            straight.records, venue: &venue, reports: &reports, recorder: recorder,
                            topMayHaveMoved: &topMayHaveMoved)
                        if sent > 0 {
                            pending.pointee.event.payload = .levelUpdate(update)
                            if Self.count(straight: sent, &straightChanges, &events, &sequence) { checkpoint() }
                        }
                    }
                }
                continue
            }
            // The earliest item in flight.
            var inFlight: (time: UInt64, order: UInt64, queue: Int)? = nil
            func consider(_ head: (time: UInt64, order: UInt64)?, _ queue: Int) {
                guard let head else { return }
                if let best = inFlight, (best.time, best.order) <= (head.time, head.order) { return }
                inFlight = (head.time, head.order, queue)
            }
            consider(deliveries.first, 0)
            consider(outputs.orders.first, 1)
            consider(reports.queue.first, 2)
            // The next recorded event's time, nil at the end of the data or from `to` on.
            let recordedTime = hasPending && beforeEnd(pending.pointee.time) ? pending.pointee.time : nil
            let nextTime =
                inFlight.map { item in recordedTime.map { Swift.min(item.time, $0) } ?? item.time } ?? recordedTime
            // A timer due before anything else fires at its deadline.
            if let deadline = logic.nextTimerDeadline, let nextTime,
                Self.timerDue(deadline, after: logicTime, before: nextTime)
            {
                outputs.now = deadline
                logicTime = deadline
                logic.handle(
                    Event.clockTick(at: deadline, exchangeTimestamp: deadline), sequence: sequence, outputs: &outputs)
                sequence &+= 1
                continue
            }
            if let item = inFlight, recordedTime.map({ item.time <= $0 }) ?? true {
                lastTime = Swift.max(lastTime, item.time)
                switch item.queue {
                case 0:
                    if var entry = deliveries.pop() {
                        // (After the feed latency the strategies' time runs past the data's:
                        // equity samples and time in the market run with it.)
                        recorder.advance(to: entry.time)
                        if !entry.element.applied {
                            unappliedDeliveries &-= 1
                            unappliedByFeed[Self.feed(of: entry.element.event, instruments: plan.instruments.count)] &-=
                                1
                        }
                        deliver(
                            &entry.element.event, at: entry.time, notify: entry.element.notify,
                            begun: entry.element.begun, applied: entry.element.applied)
                    }
                case 1:
                    if let entry = outputs.orders.pop() {
                        // An order reaching the venue after a latency passes the equity samples
                        // due before it, as a report or a delivery does.
                        recorder.advance(to: entry.time)
                        reports.sentAt = entry.time
                        let lots = venue.process(
                            entry.element.command, instrument: entry.element.instrument, time: entry.time,
                            sink: &reports)
                        recorder.offered(lots, instrument: entry.element.instrument)
                    }
                default:
                    if let entry = reports.queue.pop() {
                        // Equity samples due before it are taken, and time in the market counted
                        // up to it, before a fill in it changes the position (after a response
                        // latency it lands between events).
                        recorder.advance(to: entry.time)
                        outputs.now = entry.time
                        outputs.venueTime = entry.element.venueTime
                        logicTime = Swift.max(logicTime, entry.time)
                        logic.handleVenueReport(
                            entry.element.report, time: entry.time, exchangeTime: entry.time, sequence: sequence,
                            outputs: &outputs)
                        sequence &+= 1
                    }
                }
                continue
            }
            if recordedTime != nil {
                recordNext()
                continue
            }
            guard !sessionEnded else { break }
            // The end of the data: the session ends; what that sends is handled, then the run ends.
            sessionEnded = true
            let end = Swift.max(lastTime, logicTime)
            var sessionEnd = Event(
                timestamp: end, exchangeTimestamp: end, instrument: InstrumentID(0),
                payload: .timer(TimerFire(timerID: TimerFire.sessionEnd, deadline: end)))
            deliver(&sessionEnd, at: end)
        }
        if let stoppedBy {
            // The data's thread (text) stops when it is released; its checksums are not needed.
            recorder.closeFiles()
            throw .data(
                "stopped by \(stoppedBy) after \(events) events, at \(UTCTime.text(lastTime)): the backtest is "
                    + "incomplete, and no report or output was written")
        }
        data.finish()
        if let failure = data.failure {
            recorder.closeFiles()
            throw .data(plan.explained(failure))
        }
        if let changed = plan.changedInput {
            recorder.closeFiles()
            throw .data(changed)
        }
        if let definition = recorder.overflowedInstrument ?? Self.overflowedPosition(logic, plan) {
            recorder.closeFiles()
            throw .data(Self.overflowMessage(definition))
        }
        progress?(1)
        // A message the data (or `--to`) cut before its last change: its touch, as it was left.
        let lastIndex = Int(current.pointee.event.instrument.rawValue)
        if topMayHaveMoved, events > 0, lastIndex < plan.instruments.count {
            recorder.mark(lastIndex, venue.bestBidOffer(current.pointee.event.instrument))
        }
        recorder.finalSample(at: Swift.max(lastTime, recorder.lastTime))
        if recorder.equityOverflowed {
            recorder.closeFiles()
            throw .data(
                "the equity (capital \(recorder.capital) plus the P&L) passed the 128 bits it is exact in, counted in "
                    + "the instruments' finest money units: give a smaller --capital, or read the data on a coarser "
                    + "grid (--tick-size and --lot-size, or the [[instrument]]'s tick_size and lot_size)")
        }
        try recorder.close(staging: files.staging)
        let elapsed = ContinuousClock.now - started
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        var result = BacktestResult(
            plan: plan, recorder: recorder, venue: venue.counters,
            refusals: logic.withTrading { EngineRefusals($0) }, events: events, warmUpEvents: warmUp,
            skippedQuotes: data.skippedQuotes, strategies: logic.strategyDescriptions,
            realised: realised(logic, plan), dataWarnings: data.dataWarnings, elapsedSeconds: seconds,
            inputs: try plan.hashedInputs() + [settings.orderLatency.inputFile].compactMap { $0 }, custom: Custom.self)
        result.straightChanges = straightChanges
        finished = true
        return result
    }

    /// Sends the changes in the middle of a message (neither its first nor its last) of a
    /// converted file straight from its records to the venue and the recorder, while no book is
    /// rebuilt: `update` (read already) goes when the file's next record continues its message
    /// (`instrument`, `timestamp`, `exchangeTimestamp`), and so on; on return `update` is the
    /// first change not sent. Reports the venue makes wait for the message's end, as they would
    /// (a message is one step at the venue), and the logic has nothing to do for these changes
    /// (it shares the venue's books and is not told of them). Returns how many went. No
    /// allocation; one function of its own, so that the venue's and the book's steps inline into
    /// its loop.
    @inline(never)
    static func sendMessageMiddle(
        _ update: inout LevelUpdate, instrument: InstrumentID, time: UInt64, timestamp: UInt64,
        exchangeTimestamp: UInt64, from stream: Unmanaged<DataFileStream>, _ records: EventFileRecords,
        venue: inout SimulatedVenue, reports: inout ReportQueue, recorder: BacktestRecorder,
        topMayHaveMoved: inout Bool
    ) -> Int {
        let index = Int(instrument.rawValue)
        var sent = 0
        var moved = topMayHaveMoved
        while !venue.rebuilding,
            let next = stream._withUnsafeGuaranteedRef({
                $0.takeLevelUpdate(
                    records, instrument: instrument.rawValue, timestamp: timestamp, exchangeTimestamp: exchangeTimestamp
                )
            })
        {
            venue.apply(update, to: instrument, time: time, sink: &reports)
            moved = moved || recorder.mayMoveTop(index, update)
            update = next
            sent &+= 1
        }
        topMayHaveMoved = moved
        // The records taken straight step back when their message did: counted as `read` counts.
        if sent > 0 {
            stream._withUnsafeGuaranteedRef {
                if $0.stepsBack(exchangeTimestamp) { $0.noteStepBack(exchangeTimestamp, records: sent) }
            }
        }
        return sent
    }

    /// Counts `sent` changes that went straight from the file's records as events; true when
    /// they crossed a multiple of 65,536 (progress is reported then).
    @inline(__always)
    static func count(straight sent: Int, _ straightChanges: inout Int, _ events: inout Int, _ sequence: inout Int64)
        -> Bool
    {
        straightChanges &+= sent
        let before = events
        events &+= sent
        sequence &+= Int64(sent)
        return before >> 16 != events >> 16
    }

    /// Sends a message's first change (`pending`, read already) and the changes after it
    /// straight from a converted file's records, as `sendMessageMiddle` sends the middle ones,
    /// when the first may go so: a level update of a known instrument, no book rebuilt, and
    /// nothing for the logic to do before it (it has nothing to do with a level update it is not
    /// told of; `logic` is only read). Then the equity samples due before the message's time are
    /// taken and the venue's time set, as for any event, and the changes go while the file's next
    /// record continues the message (a level update, checked: `sendMessageMiddle`). On return
    /// `pending` holds the first change not sent (the message's last, or the one before a
    /// record not taken so); returns how many went (0: none, and the venue and the logic are as
    /// they were).
    @inline(never)
    static func sendMessageStart<Custom: Strategy>(
        _ pending: UnsafeMutablePointer<MarketDataEvent>, from stream: Unmanaged<DataFileStream>,
        _ records: EventFileRecords, instruments: Int, logic: inout EngineLogic<Custom>,
        venue: inout SimulatedVenue, reports: inout ReportQueue, recorder: BacktestRecorder,
        topMayHaveMoved: inout Bool
    ) -> Int {
        let time = pending.pointee.time
        let instrument = pending.pointee.event.instrument
        guard case .levelUpdate(var update) = pending.pointee.event.payload, Int(instrument.rawValue) < instruments,
            !venue.rebuilding, !logic.hasWorkBeforeEvent(at: time)
        else { return 0 }
        recorder.advance(to: time)
        reports.sentAt = time
        let sent = sendMessageMiddle(
            &update, instrument: instrument, time: time, timestamp: pending.pointee.event.timestamp,
            exchangeTimestamp: pending.pointee.event.exchangeTimestamp, from: stream, records, venue: &venue,
            reports: &reports, recorder: recorder, topMayHaveMoved: &topMayHaveMoved)
        if sent > 0 { pending.pointee.event.payload = .levelUpdate(update) }
        return sent
    }

    /// `data.next(into:)`, called directly (and inlined) for the reader of this thread: the
    /// cast is resolved when `simulate` is specialised, while the protocol call through `Data`
    /// stayed an indirect call through the witness table.
    @inline(__always)
    static func read<Data: MarketDataSource>(_ data: Data, into slot: UnsafeMutablePointer<MarketDataEvent>) -> Bool {
        if let stream = data as? MarketDataStream { return stream.next(into: slot) }
        return data.next(into: slot)
    }

    /// The feed `event` came by, for `--feed-latency local`: its instrument's book changes, or
    /// its trades (`instruments` is the number of instruments; another instrument's events share
    /// the last pair).
    static func feed(of event: Event, instruments: Int) -> Int {
        let instrument = Swift.min(Int(event.instrument.rawValue), instruments)
        if case .trade = event.payload { return instrument &* 2 &+ 1 }
        return instrument &* 2
    }

    /// Whether a strategy timer with `deadline` fires before an item at `time`: it is after
    /// the logic's time `now` and before `time`.
    @inline(__always)
    static func timerDue(_ deadline: UInt64?, after now: UInt64, before time: UInt64) -> Bool {
        guard let deadline else { return false }
        return deadline > now && deadline < time
    }

    /// Whether `next` is a further book change of the message `event` belongs to: both level
    /// updates or clear-book events of one instrument with the same exchange and receive times.
    @inline(__always)
    static func continuesMessage(_ event: Event, _ next: UnsafePointer<MarketDataEvent>) -> Bool {
        // Field by field where `next` lies: it was just written there field by field, and
        // copying it whole first read it back in wider loads than it was written with, which
        // cannot be forwarded from the stores still in flight (a stall on every event).
        next.pointee.event.instrument == event.instrument
            && next.pointee.event.exchangeTimestamp == event.exchangeTimestamp
            && next.pointee.event.timestamp == event.timestamp && isBookChange(event.payload)
            && isBookChange(next.pointee.event.payload)
    }

    /// A level update, a clear-book event or a quote (a quotes-only instrument's book).
    static func movesBook(_ payload: EventPayload) -> Bool {
        if case .quote = payload { return true }
        return isBookChange(payload)
    }

    /// A level update or a clear-book event.
    @inline(__always)
    static func isBookChange(_ payload: EventPayload) -> Bool {
        switch payload {
        case .levelUpdate, .clearBook: return true
        default: return false
        }
    }

    /// The first instrument in which a strategy's position left the 128 bits its figures are
    /// exact in, if any.
    static func overflowedPosition<Custom: Strategy>(_ logic: borrowing EngineLogic<Custom>, _ plan: BacktestPlan)
        -> InstrumentDefinition?
    {
        let count = logic.strategyDescriptions.count
        return plan.instruments.first { definition in
            logic.withTrading { trading in
                (0..<count).contains { trading.position(slot: $0, instrument: definition.id)?.overflowed ?? false }
            }
        }
    }

    /// Why a run whose money figures in `definition` left 128 bits has no report, and what to do.
    static func overflowMessage(_ definition: InstrumentDefinition) -> String {
        let unit = definition.tickSize.decimals + definition.lotSize.decimals + 8
        return "\(definition.symbol)'s money figures passed the 128 bits they are exact in: prices on a grid of "
            + "\(definition.tickSize) times quantities on a grid of \(definition.lotSize) count money in units of "
            + "10^-\(unit) \(definition.quoteCurrency), about 1.7e\(38 - unit) at most. Read the data on a coarser grid "
            + "(--tick-size and --lot-size, or the [[instrument]]'s tick_size and lot_size) or trade smaller quantities"
    }

    /// Each instrument's realised P&L over every strategy (money units), from the strategies'
    /// own positions.
    static func realised<Custom: Strategy>(_ logic: borrowing EngineLogic<Custom>, _ plan: BacktestPlan) -> [Money] {
        let count = logic.strategyDescriptions.count
        return plan.instruments.map { definition in
            logic.withTrading { trading in
                (0..<count).reduce(Money.zero) { sum, slot in
                    sum + (trading.position(slot: slot, instrument: definition.id)?.realised ?? .zero)
                }
            }
        }
    }
}
